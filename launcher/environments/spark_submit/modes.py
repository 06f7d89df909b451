"""One small class per way a run reaches Spark. Each knows how to start a run, look at it once
(the vendor's state, mapped by ``states``), stop it, show the driver's log while it runs, and
find it again after a launcher restart.

- ``client``: spark-submit runs the driver here (any master); followed by its process.
- ``standalone-cluster``: the driver runs on a worker, submitted through the master's REST
  server (spark-submit refuses Python apps there); followed by submission id.
- ``yarn-cluster`` / ``k8s-cluster``: spark-submit hands the app over and exits; followed by the
  run's tag (YARN application tag, driver pod label).
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from launcher.environments.base import Handle, Run, RunState, State
from launcher.environments.spark_submit import client, states
from launcher.environments.spark_submit.command import TAG_LABEL, build_argv, build_rest_request, driver_env, label_value
from launcher.environments.spark_submit.kubernetes import KubernetesApi
from launcher.environments.spark_submit.package import build_zip
from launcher.environments.spark_submit.settings import SparkSettings
from launcher.environments.spark_submit.standalone_rest import MasterUi, RestSubmissionServer
from launcher.environments.spark_submit.yarn import ResourceManager

ENVIRONMENT = "spark"


@dataclass
class Context:
    """What the modes share: settings, where files go, and this process's memory of its runs."""

    settings: SparkSettings
    work_dir: Path
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)  # submitters we started, by tag
    seen: dict[str, Any] = field(default_factory=dict)  # last vendor answer per tag (for logs)

    def py_files(self) -> list[str]:
        return [build_zip(self.work_dir / "pyfiles")]

    def run_dir(self, tag: str) -> str:
        # spark-submit's working directory: derby.log, spark-warehouse and the like land here.
        return str(self.work_dir / "runs" / tag)


def header(run: Run, proxy_user: str | None, mode: str) -> list[str]:
    who = f"user {run.user}" + (f", submitted as proxy user {proxy_user}" if proxy_user else "")
    return [f"job group {run.job_group_id}, tag {run.tag}, {who}, {mode} mode"]


def append_log(path: str, lines: list[str]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.writelines(f"[launcher] {line}\n" for line in lines)


class Mode:
    name: ClassVar[str]

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.settings = ctx.settings

    def submit(self, run: Run, data: dict) -> Handle: ...
    def poll(self, handle: Handle) -> RunState: ...
    def cancel(self, handle: Handle) -> None: ...

    def recover(self, handle: Handle) -> RunState:
        return self.poll(handle)

    def live_log(self, handle: Handle) -> list[str]:
        """The driver's log where it runs elsewhere ([] when it is all in the log file)."""
        return []

    # -- shared by the modes that run spark-submit here ----------------------------------------
    def _start_submitter(self, run: Run, data: dict) -> Handle:
        proxy = self.settings.proxy_user(run.user)
        argv = build_argv(run.spec_path, self.ctx.py_files(), self.settings, run.tag, proxy)
        env = {**os.environ, **driver_env(self.settings)}
        proc = client.launch(argv, env=env, log_path=run.log_path, cwd=self.ctx.run_dir(run.tag),
                             header=header(run, proxy, self.name))
        self.ctx.procs[run.tag] = proc
        return Handle(ENVIRONMENT, run.tag, str(proc.pid), {**data, "pid": proc.pid})

    def _submitter(self, handle: Handle) -> RunState | None:
        """The spark-submit process: RUNNING, how it ended, or None when it is not known here."""
        proc = self.ctx.procs.get(handle.tag)
        if proc is not None:
            return states.from_exit(proc.poll())
        pid = handle.data.get("pid")
        if pid and client.group_members(pid, handle.data.get("specLocation")):
            return RunState(State.RUNNING)
        return None

    def _stop_submitter(self, handle: Handle, background: bool = True) -> None:
        pid = handle.data.get("pid")
        proc = self.ctx.procs.get(handle.tag)
        if not pid:
            return
        our_child_alive = proc is not None and proc.poll() is None  # then the group id is still its
        if not our_child_alive and not client.group_members(pid, handle.data.get("specLocation")):
            return  # the run's processes are gone (the id may be reused): never signal a stranger
        if background:
            client.stop_group_in_background(pid, timeout=self.settings.kill_timeout_seconds, proc=proc)
        else:
            client.stop_group(pid, timeout=self.settings.kill_timeout_seconds, proc=proc)


class ClientMode(Mode):
    """The driver runs inside spark-submit on this machine."""

    name = "client"

    def submit(self, run: Run, data: dict) -> Handle:
        return self._start_submitter(run, data)

    def poll(self, handle: Handle) -> RunState:
        if handle.tag not in self.ctx.procs:
            return self.recover(handle)  # not started by this launcher process
        return self._submitter(handle)  # type: ignore[return-value]

    def cancel(self, handle: Handle) -> None:
        self._stop_submitter(handle)

    def recover(self, handle: Handle) -> RunState:
        pid = handle.data.get("pid")
        if not pid:
            # Only the tag was saved: the launcher stopped around the launch. The tag is on
            # spark-submit's command line (--name), so a process that did start is found by it.
            for pgid in client.groups_with(f"--name {handle.tag} "):
                client.stop_group(pgid, timeout=self.settings.kill_timeout_seconds)
            return RunState(State.FAILED, "the launcher restarted while it was starting spark-submit; "
                                          "run the job group again")
        alive = bool(client.group_members(pid, handle.data.get("specLocation")))
        if alive:
            # A client-mode driver reports only to the launcher that started it: stop it rather
            # than let it write outputs nobody follows.
            self._stop_submitter(handle, background=False)
        what = "it was still running and has been stopped" if alive else "it ended with the launcher"
        return RunState(State.FAILED, f"the launcher restarted while this client-mode run was in flight "
                                      f"(spark-submit pid {pid}: {what}); run the job group again")


class StandaloneClusterMode(Mode):
    """The driver runs on a worker of a standalone master, through its REST submission server."""

    name = "standalone-cluster"

    def _server(self, handle: Handle | None = None) -> RestSubmissionServer:
        url = (handle.data.get("restUrl") if handle else None) or self.settings.rest_submission_url
        return RestSubmissionServer(url, self.settings.http_timeout_seconds)

    def submit(self, run: Run, data: dict) -> Handle:
        proxy = self.settings.proxy_user(run.user)
        request = build_rest_request(run.spec_path, self.ctx.py_files(), self.settings, run.tag, proxy,
                                     spark_version=importlib.metadata.version("pyspark"))
        server = self._server()
        append_log(run.log_path, header(run, proxy, self.name) + [
            f"POST {server.url}/v1/submissions/create: {request['mainClass']} {' '.join(request['appArgs'])}"])
        try:
            sid = server.create(request)
        except Exception as e:
            append_log(run.log_path, [f"submission failed: {e}"])
            raise
        append_log(run.log_path, [f"submitted as {sid}"])
        return Handle(ENVIRONMENT, run.tag, sid, {**data, "restUrl": server.url, "submissionId": sid,
                                                  "masterUiUrl": self.settings.master_ui})

    def poll(self, handle: Handle) -> RunState:
        sid = handle.external_id or handle.data.get("submissionId")
        if not sid:
            return RunState(State.FAILED, "the launcher stopped while submitting; no submission id was saved")
        status = self._server(handle).status(sid)
        if status.get("workerId"):
            self.ctx.seen[handle.tag] = status
        return states.from_standalone(status)

    def cancel(self, handle: Handle) -> None:
        sid = handle.external_id or handle.data.get("submissionId")
        if sid:
            # success=false means "already finished or unknown": nothing left to stop.
            self._server(handle).kill(sid, timeout=self.settings.kill_timeout_seconds)

    def live_log(self, handle: Handle) -> list[str]:
        status = self.ctx.seen.get(handle.tag)
        if status is None:
            return []
        ui = MasterUi(handle.data.get("masterUiUrl") or self.settings.master_ui, self.settings.http_timeout_seconds)
        worker = ui.worker_ui(status["workerId"])
        if worker is None:
            return []
        lines = []
        for kind in ("stdout", "stderr"):
            text = ui.driver_log(worker, status["submissionId"], kind)
            lines += [f"---- driver {kind} ({status['submissionId']} on {status.get('workerHostPort', '?')}) ----"]
            lines += text.splitlines()
        return lines


class _FollowedByTag(Mode):
    """spark-submit hands the app to the cluster manager and exits; the tag finds it after."""

    def _find(self, handle: Handle) -> dict | None: ...
    def _state(self, found: dict | None) -> RunState: ...
    def _kill(self, handle: Handle, found: dict) -> None: ...

    def submit(self, run: Run, data: dict) -> Handle:
        return self._start_submitter(run, data)

    def poll(self, handle: Handle) -> RunState:
        found = self._find(handle)
        if found is not None:
            self.ctx.seen[handle.tag] = found
            return self._state(found)
        submitter = self._submitter(handle)
        if submitter is not None and submitter.state is State.RUNNING:
            return RunState(State.PENDING, "spark-submit is handing the application over")
        if submitter is not None and submitter.state is State.FAILED:
            return submitter
        return self._state(None)

    def cancel(self, handle: Handle) -> None:
        self._stop_submitter(handle)
        found = self._find(handle)
        if found is not None:
            self._kill(handle, found)


class YarnClusterMode(_FollowedByTag):
    name = "yarn-cluster"

    def _rm(self, handle: Handle) -> ResourceManager:
        return ResourceManager(handle.data.get("rmUrl") or self.settings.yarn_rm_url or "",
                               self.settings.http_timeout_seconds)

    def submit(self, run: Run, data: dict) -> Handle:
        return super().submit(run, {**data, "rmUrl": self.settings.yarn_rm_url})

    def _find(self, handle: Handle) -> dict | None:
        return self._rm(handle).app_by_tag(label_value(handle.tag))

    def _state(self, found: dict | None) -> RunState:
        if found is None:
            return RunState(State.FAILED, "YARN has no application with this run's tag")
        return states.from_yarn(found)

    def _kill(self, handle: Handle, found: dict) -> None:
        self._rm(handle).kill(found["id"], user=handle.data.get("proxyUser"),
                              timeout=self.settings.kill_timeout_seconds)

    def live_log(self, handle: Handle) -> list[str]:
        app = self.ctx.seen.get(handle.tag)
        if not app:
            return []
        return [f"---- YARN application {app.get('id')} ({app.get('state')}/{app.get('finalStatus')}) ----",
                f"tracking: {app.get('trackingUrl', '')}",
                f"driver (application master) logs: {app.get('amContainerLogs', '')}"]


class KubernetesClusterMode(_FollowedByTag):
    name = "k8s-cluster"

    def _api(self, handle: Handle) -> KubernetesApi:
        s = self.settings
        return KubernetesApi(handle.data.get("k8sApiUrl") or s.kubernetes_api_url,
                             handle.data.get("k8sNamespace") or s.k8s_namespace,
                             s.k8s_token_file, s.k8s_ca_file, s.http_timeout_seconds)

    def submit(self, run: Run, data: dict) -> Handle:
        return super().submit(run, {**data, "k8sApiUrl": self.settings.kubernetes_api_url,
                                    "k8sNamespace": self.settings.k8s_namespace})

    def _find(self, handle: Handle) -> dict | None:
        return self._api(handle).driver_pod(TAG_LABEL, label_value(handle.tag))

    def _state(self, found: dict | None) -> RunState:
        return states.from_k8s_pod(found)

    def _kill(self, handle: Handle, found: dict) -> None:
        self._api(handle).delete_pod(found["metadata"]["name"], timeout=self.settings.kill_timeout_seconds)

    def live_log(self, handle: Handle) -> list[str]:
        pod = self.ctx.seen.get(handle.tag)
        if not pod:
            return []
        name = pod["metadata"]["name"]
        return [f"---- driver pod {name} ----", *self._api(handle).pod_log(name).splitlines()]


MODES: dict[str, type[Mode]] = {
    m.name: m for m in (ClientMode, StandaloneClusterMode, YarnClusterMode, KubernetesClusterMode)
}
