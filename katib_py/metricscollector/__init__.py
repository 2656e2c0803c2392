"""The metrics collector sidecar (`katib-py metrics-collector`) for StdOut, File and TensorFlowEvent.

Differences from Katib, on purpose:
- Metrics are reported while the trial runs (every `-p` interval or 1,000 lines), not once at the end;
  a report that fails is retried with backoff and nothing is dropped (db-manager ignores re-sent rows).
- Lines without a timestamp are stored at `0001-01-01T00:00:00Z` plus one microsecond per line
  number (Katib: all at the zero time), which keeps their order and makes re-sent rows identical.
- Malformed lines (JSON that is not an object, TEXT lines naming a metric with no readable value)
  are skipped and counted in the final log line; Katib's collector fails on a bad JSON line.
- The default TEXT filter reads names with `-`, `/`, `.`, signs, scientific notation, `nan`, `inf`;
  JSON values may be numbers or strings.
- Early-stopping rules are checked on every report from startStep on, not only at startStep.
- SIGTERM (a native sidecar being stopped) reads the rest of the file, reports it, and exits 0,
  even when it arrives during start-up (see `katib_py.signals` for the `env --block-signal` launcher).
- TensorFlow event files are read without TensorFlow, including tensorboardX (torch) files.
- Memory stays bounded: the file is read in 1 MiB chunks, a line over 1 MiB is skipped and counted,
  and reading pauses while 50,000 metric logs wait for db-manager.
- Filters run on RE2 (Katib's engine): time linear in the line, whatever the filter.
- Rename-style log rotation is followed (the old file to its end, then the new one).
- `-m` and `-f` take `\\;` for a `;` inside an item (Katib splits on every `;`).
"""
