"""Choosing the ``tf.distribute`` strategy that models and optimizers are built under.

``auto``, ``default`` and ``mirrored`` work in one process. ``multi_worker`` is
``MultiWorkerMirroredStrategy`` across processes or hosts, each started with the
same command and its own ``TF_CONFIG`` (README, "Training on several machines");
``tpu`` is ``TPUStrategy`` on the TPU the environment provides. All of them train
through the custom loop of `train.loop` (``model.fit`` fails under
``MultiWorkerMirroredStrategy`` in Keras 3: keras-team/keras issue 20585).
"""

import faulthandler
import json
import os
import socket
import time

import tensorflow as tf

from common.errors import ParameterError

STRATEGIES = ("auto", "default", "mirrored", "multi_worker", "tpu")


def parse_tf_config(text):
    """Check a ``TF_CONFIG`` value and return ``(cluster, task_type, task_index)``.

    ``TF_CONFIG`` is TensorFlow's JSON cluster description, e.g.
    ``{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}``
    (optionally with a ``chief`` job).

    Args:
        text: the environment variable's value, or None when it is unset.
    Returns:
        ``(cluster, task_type, task_index)``: dict job -> list of ``"host:port"``, str, int.
    Raises:
        ParameterError: if it is unset, not JSON, lacks ``cluster`` or ``task``, names a
            task that is not in the cluster, or an address that is not ``host:port``.
    """
    if not text:
        raise ParameterError(
            "strategy: multi_worker needs the TF_CONFIG environment variable (README, 'Training on several "
            "machines'). Received: TF_CONFIG unset"
        )
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise ParameterError(f"TF_CONFIG is not valid JSON ({err}). Received: TF_CONFIG={text!r}") from err
    cluster, task = (value.get("cluster"), value.get("task")) if isinstance(value, dict) else (None, None)
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise ParameterError(f"TF_CONFIG must hold a 'cluster' and a 'task' object. Received: TF_CONFIG={text!r}")
    task_type, task_index = task.get("type"), task.get("index", 0)
    jobs = cluster.get(task_type)
    if not isinstance(jobs, list) or not isinstance(task_index, int) or not 0 <= task_index < len(jobs):
        raise ParameterError(
            f"TF_CONFIG's task is not in its cluster. Received: task={task!r}, cluster={cluster!r}"
        )
    for job, addresses in cluster.items():
        for address in addresses if isinstance(addresses, list) else [addresses]:
            host, _, port = str(address).rpartition(":")
            if not host or not port.isdigit():
                raise ParameterError(f"TF_CONFIG addresses must be host:port. Received: {job}={address!r}")
    return cluster, task_type, task_index


def local_worker_addresses(count):
    """``count`` addresses ``"127.0.0.1:<port>"`` on TCP ports free now: a cluster of processes on one machine.

    For ``TF_CONFIG`` of workers started on this machine (tests, benchmarks, trying
    ``multi_worker`` out); a port can be taken by another program before a worker binds it.
    """
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    addresses = [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]
    for s in sockets:
        s.close()
    return addresses


def is_chief(cluster, task_type, task_index):
    """True for the task that writes: the ``chief`` job's task, or worker 0 when there is no chief."""
    if "chief" in cluster:
        return task_type == "chief"
    return task_type == "worker" and task_index == 0


def rendezvous(cluster, task_type, task_index, timeout_s):
    """Wait until every task of the cluster is up, before TensorFlow's own start-up, which waits forever.

    ``MultiWorkerMirroredStrategy()`` blocks inside TensorFlow, holding the interpreter,
    until every task named in ``TF_CONFIG`` has started; a worker that never comes would
    hang the others. So each task first listens on its own ``TF_CONFIG`` port and
    connects to every other task's, retrying, until it has reached all of them and all
    of them have reached it; then it closes the port for TensorFlow's server to take.

    Args:
        cluster, task_type, task_index: from `parse_tf_config`.
        timeout_s: seconds to wait for the others.
    Raises:
        ParameterError: naming the addresses not reached (or not heard from) within
            ``timeout_s``, or this task's port when it cannot be bound.
    """
    own = cluster[task_type][task_index]
    peers = [a for addresses in cluster.values() for a in addresses if a != own]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("", int(own.rpartition(":")[2])))
    except OSError as err:
        listener.close()
        raise ParameterError(f"Cannot listen on this task's TF_CONFIG address ({err}). Received: {task_type}={own!r}") from err
    listener.listen(len(peers) + 1)
    listener.settimeout(0.2)
    reached, heard = set(), set()
    deadline = time.monotonic() + timeout_s
    try:
        while len(reached) < len(peers) or len(heard) < len(peers):
            if time.monotonic() > deadline:
                missing = sorted(set(peers) - (reached & heard))
                raise ParameterError(
                    f"Workers unreachable after {timeout_s:g} s (worker_timeout_s): are all of them started with the "
                    f"same command and their own TF_CONFIG? Received: unreachable={missing}"
                )
            for address in set(peers) - reached:
                host, _, port = address.rpartition(":")
                try:
                    with socket.create_connection((host, int(port)), timeout=1.0) as connection:
                        connection.sendall(own.encode() + b"\n")
                    reached.add(address)
                except OSError:
                    pass
            try:
                connection, _ = listener.accept()
                with connection:
                    connection.settimeout(2.0)
                    line = connection.recv(256).split(b"\n")[0].decode("ascii", errors="replace").strip()
                if line in peers:  # anything else (a stray or gRPC connection) is not a peer's hello
                    heard.add(line)
            except OSError:  # includes the accept timeout
                pass
    finally:
        listener.close()


def get_strategy(name="auto", worker_timeout_s=300.0):
    """Return ``(strategy, chief)``: a ``tf.distribute.Strategy`` and whether this process writes.

    Args:
        name: ``"auto"`` (MirroredStrategy over the visible GPUs when there are two or
            more, else the default strategy), ``"default"`` (one device), ``"mirrored"``
            (MirroredStrategy over the visible GPUs, or over the logical CPU devices when
            there is no GPU), ``"multi_worker"`` (MultiWorkerMirroredStrategy from
            ``TF_CONFIG``, after `rendezvous` with the other workers), or
            ``"tpu"`` (TPUStrategy on the TPU found by ``TPUClusterResolver``).
        worker_timeout_s: seconds ``multi_worker`` waits for its peers.
    Returns:
        ``(strategy, chief)``; build the model and optimizer inside ``strategy.scope()``.
    Raises:
        ParameterError: for an unknown name, a bad ``TF_CONFIG``, workers that do not come
            within ``worker_timeout_s``, or no TPU.
    """
    # listing devices starts TensorFlow's context, which MultiWorkerMirroredStrategy must precede
    gpus = tf.config.list_logical_devices("GPU") if name in ("auto", "mirrored") else []
    if name == "auto":
        return (tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()), True
    if name == "default":
        return tf.distribute.get_strategy(), True
    if name == "mirrored":
        if gpus:
            return tf.distribute.MirroredStrategy(), True
        return tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices("CPU")]), True
    if name == "multi_worker":
        cluster, task_type, task_index = parse_tf_config(os.environ.get("TF_CONFIG"))
        rendezvous(cluster, task_type, task_index, worker_timeout_s)
        # TensorFlow's own start-up cannot be interrupted from Python (it holds the interpreter);
        # should a worker vanish between the rendezvous and it, faulthandler's C watchdog ends the process
        faulthandler.dump_traceback_later(worker_timeout_s, exit=True)
        try:
            strategy = tf.distribute.MultiWorkerMirroredStrategy()  # starts this task's server
        except RuntimeError as err:  # "Collective ops must be configured at program startup"
            raise ParameterError(
                f"strategy: multi_worker must be set up before TensorFlow runs anything in the process; start "
                f"training as a process of its own ({err}). Received: strategy='multi_worker'"
            ) from err
        finally:
            faulthandler.cancel_dump_traceback_later()
        return strategy, is_chief(cluster, task_type, task_index)
    if name == "tpu":
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
        except (ValueError, RuntimeError, tf.errors.OpError) as err:
            raise ParameterError(f"strategy: tpu found no TPU ({err}). Received: strategy='tpu'") from err
        return tf.distribute.TPUStrategy(resolver), True
    raise ParameterError(f"Unknown strategy. Expected one of {STRATEGIES}. Received: strategy={name!r}")
