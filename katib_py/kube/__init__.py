"""The Kubernetes kit: what the operator and the embedded cluster both need to speak Kubernetes.

It knows Kubernetes and nothing of Katib (an import contract checks it):

- `client.KubeClient`: the one async REST client (credentials, 401 re-login, discovery);
- `errors`: one `ApiError` tree, a class per status, for clients and the embedded API server;
- `resource`: where kinds live on the REST API; `meta`: keys, owner references, names, conditions;
- `selectors`: label selectors; `rfc3339`: the time formats;
- `workqueue.WorkQueue` and `informer.Informer`: the level-triggered controller plumbing;
- `events.EventRecorder`: core/v1 Events.

Import from the modules (`from katib_py.kube.errors import NotFound`): the package itself imports
nothing, so the pure modules (resource, meta, errors, rfc3339) cost no aiohttp to the layers that
must stay free of I/O.
"""
