"""The SLURM profile for real: a one-node Slurm cluster on localhost runs the tiny workflow.

Debian's `slurm-wlm` and `munge` are installed with apt-get when missing (so the test needs root), then a
private munged, slurmctld and slurmd are started on free ports with every file in a temporary directory,
and `snakemake --profile profiles/slurm` submits each rule with snakemake-executor-plugin-slurm.

The cluster has no accounting database (no slurmdbd): job states come from `squeue`, as the profile says
(`slurm-status-command: squeue`, MinJobAge=3600 here). The node declares one fake GPU (gres.conf with
/dev/null as its device file) on a `gpu` partition, so train_model's `gpu: 1` really goes through
`sbatch --gpus=1` to that partition, while the tiny config still trains on the CPU.

Slow (a few minutes): every job is a separate `python -m snakemake` on the node. Skipped, with the reason,
when not root, when BASSET_SKIP_SLURM=1, or when Slurm or the plugin cannot be installed.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import copy_workflow

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.workflow]



def _skip_reason() -> str | None:
    if os.environ.get("BASSET_SKIP_SLURM") == "1":
        return "BASSET_SKIP_SLURM=1"
    if os.geteuid() != 0:
        return "needs root: installs slurm-wlm and munge with apt-get and runs slurmctld/slurmd"
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        return "snakemake-executor-plugin-slurm is not installed (pip install -e '.[test]')"
    if sys.platform != "linux":
        return "Slurm daemons run on Linux only"
    return None


def _ensure_slurm() -> str | None:
    """Install Debian's Slurm and munge if missing; return why not where that fails."""
    needed = ("slurmctld", "slurmd", "sbatch", "squeue", "munged")
    if all(shutil.which(p) for p in needed):
        return None
    if not shutil.which("apt-get"):
        return "slurm-wlm is missing and there is no apt-get to install it"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    lock = ["-o", "DPkg::Lock::Timeout=600"]
    subprocess.run(["apt-get", *lock, "update", "-qq"], env=env, capture_output=True)
    res = subprocess.run(["apt-get", *lock, "install", "-y", "-qq", "--no-install-recommends", "slurm-wlm", "munge"],
                         env=env, capture_output=True, text=True)
    if res.returncode != 0 or not all(shutil.which(p) for p in needed):
        return f"apt-get install slurm-wlm munge failed: {res.stderr.strip()[-500:]}"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SLURM_CONF = """\
ClusterName=bassettest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={d}/munge.socket
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
# no cgroups in a container: plain process tracking, no task binding, no accounting
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
# finished jobs stay visible to squeue (the profile's status command) and to the scontrol checks for an hour
MinJobAge=3600
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
GresTypes=gpu
# trust the node lines below (a fake GPU, more memory than the machine has: memory is not enforced)
SlurmdParameters=config_overrides
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=262144 Gres=gpu:1 State=UNKNOWN
PartitionName=cpu Nodes={host} Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes={host} MaxTime=INFINITE State=UP
"""


class Cluster:
    """munged, slurmctld and slurmd in the foreground, all files under one directory."""

    def __init__(self, d: Path):
        self.d = d
        self.procs: list[subprocess.Popen] = []
        self.host = socket.gethostname().split(".")[0]
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM")}
        self.env["SLURM_CONF"] = str(d / "slurm.conf")
        # The job-step plugin removes SLURM_* variables (SLURM_CONF too) before its inner `srun`; a
        # cluster configured at a non-default path needs this shim (a real one has /etc/slurm/slurm.conf).
        self.env["PATH"] = f"{d / 'bin'}{os.pathsep}{self.env.get('PATH', '')}"

    def run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, env=self.env, capture_output=True, text=True, check=check, timeout=60)

    def _spawn(self, *cmd: str) -> None:
        log = open(self.d / f"{Path(cmd[0]).name}.out", "w")
        self.procs.append(subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                           start_new_session=True))

    def start(self) -> None:
        d = self.d
        for sub in ("state", "spool", "bin"):
            (d / sub).mkdir()
        srun = d / "bin/srun"
        srun.write_text(f'#!/bin/sh\nSLURM_CONF={d}/slurm.conf exec {shutil.which("srun")} "$@"\n')
        srun.chmod(0o755)
        key = d / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        (d / "slurm.conf").write_text(SLURM_CONF.format(
            host=self.host, d=d, ctld_port=_free_port(), slurmd_port=_free_port(), cpus=max(2, os.cpu_count() or 2)))
        # a GPU needs a device file to count; /dev/null stands in (no cgroups restrict devices here)
        (d / "gres.conf").write_text(f"NodeName={self.host} Name=gpu File=/dev/null\n")
        self._spawn("munged", "--foreground", "--force", f"--socket={d}/munge.socket", f"--key-file={key}",
                    f"--pid-file={d}/munged.pid", f"--log-file={d}/munged.log", f"--seed-file={d}/munged.seed")
        self._wait(lambda: (d / "munge.socket").exists(), "munged")
        self._spawn("slurmctld", "-D", "-i", "-f", str(d / "slurm.conf"))
        self._spawn("slurmd", "-D", "-f", str(d / "slurm.conf"))
        self._wait(lambda: self.run("sinfo", "-h", "-N", "-o", "%t", check=False).stdout.split()[:1] == ["idle"],
                   "the node to be idle")

    def _wait(self, ready, what: str, timeout: float = 90) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if ready():
                return
            dead = [p.args[0] for p in self.procs if p.poll() is not None]
            if dead:
                break
            time.sleep(1)
        raise RuntimeError(f"waiting for {what}: {self.logs()}")

    def logs(self) -> str:
        files = sorted(self.d.glob("*.log")) + sorted(self.d.glob("*.out"))
        return "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in files)

    def stop(self) -> None:
        # cancel what is left, then stop the daemons this test started (and only those), newest first
        if self.procs:
            self.run("scancel", "--full", "--user=root", check=False)
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = _skip_reason() or _ensure_slurm()
    if reason:
        pytest.skip(reason)
    c = Cluster(tmp_path_factory.mktemp("slurm"))
    try:
        c.start()
        yield c
    finally:
        c.stop()



def _job_stats(log: str) -> set[str]:
    """The rule names in Snakemake's "Job stats" table."""
    table = log[log.index("Job stats:"):].splitlines()[3:]
    return {line.split()[0] for line in table[:next(i for i, x in enumerate(table) if x.startswith("total"))]}


@pytest.mark.timeout(1500)
def test_tiny_workflow_runs_through_the_slurm_profile(cluster, tmp_path):
    work = copy_workflow(tmp_path)
    start = time.monotonic()
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "--profile", "profiles/slurm", "--configfile", "config/tiny.yaml",
         # test-only: poll every few seconds instead of the default 40 s; keep the logs of successful jobs
         "--slurm-init-seconds-before-status-checks", "5", "--slurm-keep-successful-logs",
         # the node has 2 CPUs, the profile gives training 8
         "--max-threads", "2"],
        cwd=work, env=cluster.env, capture_output=True, text=True, timeout=1400)
    took = time.monotonic() - start
    assert res.returncode == 0, res.stderr[-6000:] + cluster.logs()
    print(f"tiny workflow through SLURM: {took:.0f} s")

    # every job but the target rule `all` ran as a SLURM job: one kept log per rule, named <SLURM job id>.log
    logdir = work / ".snakemake/slurm_logs"
    # rule_<name>/[<wildcards>/]<id>.log: a rule with wildcards (gkmsvm_target) has a folder per job
    logs = {p.relative_to(logdir).parts[0].removeprefix("rule_"): p for p in logdir.glob("rule_*/**/*.log")}
    assert set(logs) == _job_stats(res.stderr) - {"all"}, sorted(logs)
    assert "Falling back to 'sacct'" not in res.stderr  # squeue answered every status query

    # training asked for a GPU and so went to the GPU partition with one GPU (`sbatch --gpus=1`)
    job = cluster.run("scontrol", "show", "job", logs["train_model"].stem).stdout
    assert "Partition=gpu" in job and "TresPerJob=gres:gpu:1" in job, job
    job = cluster.run("scontrol", "show", "job", logs["merge_peaks"].stem).stdout
    assert "Partition=cpu" in job and "gres:gpu" not in job, job

    out = work / "results/tiny"
    for path in ("evaluate/summary.tsv", "motifs/summary.tsv", "satmut/phylop_regression.tsv",
                 "variants/pics_enrichment.tsv"):
        assert (out / path).stat().st_size > 0, path
