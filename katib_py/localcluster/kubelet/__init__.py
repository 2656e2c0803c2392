"""The kubelet of the embedded cluster: runs Pods as host processes (see `node.Kubelet`).

How a Pod maps onto the host (the decisions, in one place):
- Images are not pulled: each container's command/args run on the host, with `$(VAR)`/`$$`
  expansion as Kubernetes does, PATH = host PATH with this Python's bin dir first. No command
  -> the entry point the node maps the image to, then the args (images.py); no mapping either ->
  args[0] is the executable; no args either -> a Pod not restarted for ever is rejected at
  admission (Failed, UnknownImageEntrypoint). A command that cannot be executed ends the container with
  reason StartError, exit code 128 and the runtime's `exec: "x": executable file not found in
  $PATH` message.
- Scheduling: the node advertises extended resources; a Pod that asks for more than is left
  stays Pending and unbound with PodScheduled=False and a FailedScheduling event (scheduling.py).
- Network: each Pod gets its own address inside 127.0.0.0/8 (status.podIP). Linux as root:
  its own network namespace (own `lo` and ports) on a veth to the cluster's bridge, the address
  from the cluster's 127.X.Y.0/20, routed with route_localnet=1 (netplan.py decides the names,
  addresses and `ip` commands; network.py runs them and removes what a SIGKILLed cluster left);
  the node's address as Pods see it is the bridge's (hostIP, KUBERNETES_SERVICE_HOST).
  hostNetwork Pods stay in the host's namespace with the node's address. TCP hostPorts are
  relayed from the node's addresses to the Pod (hostports.py). Without root: no network
  namespace, an address from the cluster's 127.X.0.0/16 (X random per data dir), so a process
  must bind its Pod IP for two Pods to share a port; a Pod whose wildcard listener collides
  with another live Pod's port is failed (reason PortConflict, node.py `_check_ports`).
  Services resolve through a per-Pod /etc/hosts (name.ns, name.ns.svc,
  name.ns.svc.cluster.local -> clusterIP, and the bare name in the Pod's own namespace),
  rewritten in place when Services change.
- Linux as root: every container gets a private mount namespace in which volumes, the Pod's
  /etc/hosts, the ServiceAccount directory (/var/run/secrets/kubernetes.io/serviceaccount:
  token, namespace, ca.crt) and the termination-message file are bind-mounted at their real
  paths. A missing mount point is made inside the container's mount namespace only: the
  nearest existing directory gets a private tmpfs-backed overlay (the mounts below it bound back);
  only a new top-level directory (/data, say) is created on the host. `shareProcessNamespace: true` puts
  all containers in one PID namespace (held by a pause process, /proc remounted); otherwise
  containers share the host's PID namespace. The data directory is covered by an empty read-only
  tmpfs after those binds (Pods never see the admin token or the store); the process then runs
  as securityContext runAsUser/runAsGroup/fsGroup with containerd's default capabilities, and
  gets PR_SET_PDEATHSIG so it dies with the kubelet (launcher.py).
- Elsewhere (not root, not Linux): no isolation, with a warning: volumes are exposed by
  symlinks at their mountPath where that path is free and writable, and in-cluster clients
  get a kubeconfig through KUBECONFIG instead of the ServiceAccount directory.
- Stopping a container: SIGTERM to its main process (as container runtimes do), SIGKILL to its
  whole process group after the grace period.
- Logs: data_dir/logs/<ns>/<pod>/<container>.log (+ .previous.log after a restart).
"""

from .node import Kubelet

__all__ = ["Kubelet"]
