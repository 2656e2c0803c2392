"""Container launcher: the small process between the kubelet and a container's command.

Run as `python -S launcher.py SPEC.json` (stdlib only, so it starts fast). It enters the Pod's
namespaces, sets up the container's filesystem view, then `exec`s the command. An exec failure
is written to the inherited error pipe (fd in the spec) and the launcher exits 128, which the
kubelet reports as a StartError, as a container runtime does.

Linux as root: the Pod's network namespace first (`netns`), then (`isolate`) a private mount
namespace per container in which every volume is
bind-mounted at its real mountPath (and /etc/hosts replaced by the Pod's file); when the Pod
shares its process namespace the launcher joins the Pod's PID namespace (held by a "pause"
process, see `--pause`), forks, and mounts a fresh /proc. The node's data directory (admin token,
kubeconfig, store, other Pods' files) is covered by an empty read-only tmpfs once the container's
own files are bound from it. Then the process becomes the securityContext's user (runAsUser,
runAsGroup, supplementalGroups, fsGroup), with the runtime's default capabilities only, and dies
with the kubelet (PR_SET_PDEATHSIG, set last: a uid change clears it). Elsewhere: no isolation;
the command runs with the host's filesystem, as the kubelet's user.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import signal
import stat
import sys
import tempfile

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG = 1
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
# linux/capability.h
CAPABILITIES = {
    name: number
    for number, name in enumerate(
        [
            "CHOWN",
            "DAC_OVERRIDE",
            "DAC_READ_SEARCH",
            "FOWNER",
            "FSETID",
            "KILL",
            "SETGID",
            "SETUID",
            "SETPCAP",
            "LINUX_IMMUTABLE",
            "NET_BIND_SERVICE",
            "NET_BROADCAST",
            "NET_ADMIN",
            "NET_RAW",
            "IPC_LOCK",
            "IPC_OWNER",
            "SYS_MODULE",
            "SYS_RAWIO",
            "SYS_CHROOT",
            "SYS_PTRACE",
            "SYS_PACCT",
            "SYS_ADMIN",
            "SYS_BOOT",
            "SYS_NICE",
            "SYS_RESOURCE",
            "SYS_TIME",
            "SYS_TTY_CONFIG",
            "MKNOD",
            "LEASE",
            "AUDIT_WRITE",
            "AUDIT_CONTROL",
            "SETFCAP",
            "MAC_OVERRIDE",
            "MAC_ADMIN",
            "SYSLOG",
            "WAKE_ALARM",
            "BLOCK_SUSPEND",
            "AUDIT_READ",
            "PERFMON",
            "BPF",
            "CHECKPOINT_RESTORE",
        ]
    )
}

_libc = None


def libc() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    _check(libc().unshare(flags), "unshare")


def setns(path: str, nstype: int) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        _check(libc().setns(fd, nstype), f"setns {path}")
    finally:
        os.close(fd)


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def enc(s: str | None) -> bytes | None:
        return None if s is None else s.encode()

    rc = libc().mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data))
    _check(rc, f"mount {source} on {target}")


def _overlay_parent(path: str, scratch: str) -> None:
    """Make a directory writable in this mount namespace only, with a tmpfs-backed overlay.

    An overlay shows its lower directory's own filesystem, not what is mounted below it, so the
    mounts under `path` (the host's, or volumes bound earlier) are held open first and bound back.
    """
    real = os.path.realpath(path)
    below = [m for m in _mount_points() if _is_below(m, real)]
    top = [m for m in below if not any(_is_below(m, other) for other in below)]
    held = [(os.open(m, os.O_PATH), m) for m in top]
    upper = tempfile.mkdtemp(prefix="upper-", dir=scratch)
    work = tempfile.mkdtemp(prefix="work-", dir=scratch)
    # The overlay's root takes the upper directory's owner and mode: keep the lower one's (mkdtemp
    # made it 0700, which would lock a non-root container out of /tmp or /dev).
    st = os.stat(real)
    os.chown(upper, st.st_uid, st.st_gid)
    os.chmod(upper, stat.S_IMODE(st.st_mode))
    try:
        mount("overlay", real, "overlay", 0, f"lowerdir={real},upperdir={upper},workdir={work}")
        try:
            for fd, m in held:
                mount(f"/proc/self/fd/{fd}", m, None, MS_BIND | MS_REC)
        except OSError:
            libc().umount2(real.encode(), MNT_DETACH)  # all or nothing: never hide a mount
            raise
    finally:
        for fd, _ in held:
            os.close(fd)
    _OVERLAID.add(real)


def _mount_points() -> list[str]:
    """Mount points of this mount namespace (field 5 of /proc/self/mountinfo, octal escapes undone)."""
    points = []
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f:
            field = line.split(b" ")[4]
            points.append(field.decode("unicode_escape").encode("latin-1").decode("utf-8", "replace"))
    return points


_OVERLAID: set[str] = set()  # directories this launcher already made writable in its namespace


def ensure_target(target: str, is_file: bool, scratch: str, volumes: tuple[str, ...] = ()) -> None:
    """Create a missing mount point inside this mount namespace only.

    The nearest existing directory is overlaid first, so the host never sees the new path (an
    empty /var/run/secrets/kubernetes.io/serviceaccount on the host makes tools think they run in
    a cluster). Exceptions: inside one of the Pod's `volumes` (already mounted here) the point is
    made in the volume itself, as a kubelet does, since an overlay would keep this container's
    writes from the other containers sharing it; and an overlay on / does not change what this
    process sees, so a new top-level directory is created on the host, as where an overlay fails.
    """
    if os.path.lexists(target):
        return
    parent = os.path.dirname(target.rstrip("/")) or "/"
    existing = parent
    while not os.path.isdir(existing):
        existing = os.path.dirname(existing) or "/"
    real = os.path.realpath(existing)
    writable_here = _OVERLAID.union(volumes)
    if real != "/" and not any(real == d or _is_below(real, d) for d in writable_here):
        with contextlib.suppress(OSError):  # e.g. overlays stacked too deep: fall back to the host
            _overlay_parent(real, scratch)
    try:
        _create(parent, target, is_file)
    except OSError as exc:
        if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise
        # A read-only directory under /: overlay the nearest existing one, then retry.
        _overlay_parent(real, scratch)
        _create(parent, target, is_file)


def _create(parent: str, target: str, is_file: bool) -> None:
    os.makedirs(parent, exist_ok=True)
    if is_file:
        with open(target, "a"):
            pass
    else:
        os.makedirs(target, exist_ok=True)


def _is_below(path: str, ancestor: str) -> bool:
    """True when `path` lies strictly inside directory `ancestor`."""
    return path != ancestor and path.startswith(ancestor.rstrip("/") + "/")


def setup_mounts(spec: dict) -> None:  # type: ignore[type-arg]
    unshare(CLONE_NEWNS)
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    scratch = spec.get("scratch") or "/tmp"
    tmpfs_scratch = os.path.join(scratch, "overlay")
    os.makedirs(tmpfs_scratch, exist_ok=True)
    mount("tmpfs", tmpfs_scratch, "tmpfs", 0, "mode=0700")
    # Hold every source (and the scratch dir) open first: a mount over, say, /tmp must not hide
    # a source that lives under /tmp. Parents are mounted before the paths nested in them.
    scratch_fd = os.open(tmpfs_scratch, os.O_PATH)
    scratch_path = f"/proc/self/fd/{scratch_fd}"
    held = []
    for m in spec.get("mounts", []):
        fd = os.open(m["source"], os.O_PATH)
        held.append((fd, m, stat.S_ISREG(os.fstat(fd).st_mode)))
    held.sort(key=lambda item: len(os.path.normpath(item[1]["target"]).split("/")))
    targets = [os.path.normpath(m["target"]) for _, m, _ in held]
    # Host paths the container's command needs (the Python installation, the code on sys.path)
    # that a volume would hide, e.g. an emptyDir at /tmp over a virtualenv under /tmp: a real
    # container has them in its image; here they are bound back on top of the volume.
    shadowed = [p for p in spec.get("keep_visible", []) if any(_is_below(p, t) for t in targets)]
    kept = [(os.open(p, os.O_PATH), p) for p in shadowed]
    volumes: list[str] = []
    for fd, m, is_file in held:
        target = m["target"]
        ensure_target(target, is_file, scratch_path, tuple(volumes))
        mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC)
        volumes.append(os.path.realpath(target))
        if m.get("readOnly"):
            mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
        os.close(fd)
    for fd, path in kept:
        ensure_target(path, False, scratch_path, tuple(volumes))
        mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        os.close(fd)
    user = spec.get("user") or {}
    if user.get("uid"):
        gids = {user.get("gid"), *(user.get("groups") or [])}
        expose_to_user(spec.get("keep_visible", []), int(user["uid"]), gids)
        add_passwd_entry(int(user["uid"]), user.get("gid"), scratch_path)
    os.close(scratch_fd)
    for path in spec.get("hide", []):
        if os.path.isdir(path):  # not there: already hidden (by a volume mounted above it)
            mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=4k")
    if spec.get("mount_proc"):
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)


def _blocking_dir(path: str, uid: int, gids: set[int | None]) -> str | None:
    """The outermost directory above `path` that `uid` may not pass through (no x permission)."""
    parts = os.path.realpath(path).strip("/").split("/")
    for i in range(1, len(parts)):
        d = "/" + "/".join(parts[:i])
        st = os.stat(d)
        if st.st_uid == uid:
            ok = st.st_mode & stat.S_IXUSR
        elif st.st_gid in gids:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            return d
    return None


def expose_to_user(paths: list[str], uid: int, gids: set[int | None]) -> None:
    """Make the host paths a container needs (the Python installation, the code) reachable for an
    unprivileged user: an image has them in the open. A directory in the way (/root, mode 0700)
    is covered by an empty tmpfs, on which the needed paths are bound back, so the rest of it
    stays out of sight."""
    blocked: dict[str, list[str]] = {}
    for path in paths:
        blocker = _blocking_dir(path, uid, gids)
        if blocker is not None:
            blocked.setdefault(blocker, []).append(os.path.realpath(path))
    for blocker in sorted(blocked, key=len):
        held = [(os.open(p, os.O_PATH), p) for p in blocked[blocker]]
        mount("tmpfs", blocker, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
        for fd, p in held:
            os.makedirs(p, exist_ok=True)
            mount(f"/proc/self/fd/{fd}", p, None, MS_BIND | MS_REC)
            os.close(fd)


def add_passwd_entry(uid: int, gid: int | None, scratch: str) -> None:
    """A uid missing from /etc/passwd gets an entry (and its gid one in /etc/group), as CRI-O does,
    so that `whoami`, getpass and ssh-style tools work; bound over the files in this namespace."""
    for path, ident, line in (
        (
            "/etc/passwd",
            uid,
            f"uid{uid}:x:{uid}:{gid if gid is not None else uid}:uid{uid}:/:/sbin/nologin\n",
        ),
        ("/etc/group", gid, f"gid{gid}:x:{gid}:\n"),
    ):
        if ident is None:
            continue
        try:
            with open(path) as fh:
                text = fh.read()
        except OSError:
            text = ""
        if any(f.split(":")[2:3] == [str(ident)] for f in text.splitlines()):
            continue
        copy = os.path.join(scratch, os.path.basename(path))
        with open(copy, "w") as fh:
            fh.write(text if text.endswith("\n") or not text else text + "\n")
            fh.write(line)
        os.chmod(copy, 0o644)
        mount(copy, path, None, MS_BIND)


def become(user: dict) -> None:  # type: ignore[type-arg]
    """Switch to the container's user with its capabilities; before exec, after every mount."""
    caps = user.get("capabilities")
    if caps is not None:
        keep = {CAPABILITIES[c] for c in caps if c in CAPABILITIES}
        try:
            with open("/proc/sys/kernel/cap_last_cap") as fh:
                last = int(fh.read())
        except (OSError, ValueError):
            last = max(CAPABILITIES.values())
        for number in range(last + 1):
            if number not in keep:
                _check(libc().prctl(PR_CAPBSET_DROP, number, 0, 0, 0), "drop capability")
        libc().prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    groups = [int(g) for g in user.get("groups") or [] if g is not None]
    gid = user.get("gid")
    if gid is not None:
        os.setgroups(list(dict.fromkeys([int(gid), *groups])))
        os.setgid(int(gid))
    elif groups:
        os.setgroups(groups)
    if user.get("uid") is not None:
        os.setuid(int(user["uid"]))
    if user.get("no_new_privs"):
        _check(libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def die_with(parent: int) -> None:
    """SIGKILL this process when `parent` dies (even by SIGKILL); gone already: exit now."""
    if not parent:
        return
    libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    ppid = os.getppid()  # 0: the parent is outside our PID namespace (then it is still there)
    if ppid not in (0, parent):
        os._exit(137)


def exec_error(argv0: str, exc: OSError, env: dict) -> str:  # type: ignore[type-arg]
    if "/" not in argv0 and exc.errno == errno.ENOENT:
        return f'exec: "{argv0}": executable file not found in $PATH'
    if exc.errno == errno.ENOENT:
        return f'exec: "{argv0}": stat {argv0}: no such file or directory'
    return f'exec: "{argv0}": {exc.strerror or exc}'


def forward_and_wait(child: int) -> None:
    """Parent side after joining a PID namespace: relay signals, then mirror the child's exit."""

    def relay(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, relay)
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except ChildProcessError:
            os._exit(1)
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status))
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)
    os._exit(os.waitstatus_to_exitcode(status))


def run_container(spec: dict) -> None:  # type: ignore[type-arg]
    err_fd = int(spec["error_fd"])
    argv = list(spec["argv"])
    env = dict(spec["env"])
    parent = int(spec.get("parent_pid") or 0)
    die_with(parent)
    try:
        if spec.get("netns"):  # the Pod's network namespace (made by the kubelet, see network.py)
            setns(spec["netns"], CLONE_NEWNET)
        if spec.get("join_mnt_pid"):
            setns(f"/proc/{spec['join_mnt_pid']}/ns/mnt", CLONE_NEWNS)
        if spec.get("pidns_pid"):
            setns(f"/proc/{spec['pidns_pid']}/ns/pid", CLONE_NEWPID)
            launcher = os.getpid()
            child = os.fork()
            if child:
                os.close(err_fd)
                forward_and_wait(child)
            parent = launcher  # the child dies with the launcher, which dies with the kubelet
        if spec.get("isolate") and not spec.get("join_mnt_pid"):
            setup_mounts(spec)
        cwd = spec.get("cwd")
        if cwd:
            os.makedirs(cwd, exist_ok=True)
            os.chdir(cwd)
        if spec.get("user"):
            become(spec["user"])
        die_with(parent)  # again: fork and setuid clear it
    except OSError as exc:
        os.write(err_fd, f"failed to create container: {exc}".encode())
        os._exit(128)
    if not argv:
        os.write(err_fd, b"no command specified")
        os._exit(128)
    os.set_inheritable(err_fd, False)
    try:
        os.execvpe(argv[0], argv, env)
    except OSError as exc:
        os.write(err_fd, exec_error(argv[0], exc, env).encode())
        os._exit(128)


def run_pause() -> None:
    """Hold a new PID namespace: fork its init (pid 1) that reaps orphans; print its host pid."""
    kubelet = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    die_with(kubelet)
    unshare(CLONE_NEWPID)
    pause = os.getpid()
    child = os.fork()
    if child == 0:
        die_with(pause)  # the namespace's init: when it dies, everything in the namespace does
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        signal.signal(signal.SIGCHLD, lambda *_: None)
        while True:
            try:
                os.wait()
            except ChildProcessError:
                signal.pause()
            except InterruptedError:
                continue
    sys.stdout.write(f"{child}\n")
    sys.stdout.flush()
    with contextlib.suppress(ChildProcessError):
        os.waitpid(child, 0)
    os._exit(0)


def main() -> None:
    if sys.argv[1:2] == ["--pause"]:
        run_pause()
        return
    with open(sys.argv[1]) as fh:
        spec = json.load(fh)
    run_container(spec)


if __name__ == "__main__":
    main()
