#!/usr/bin/env bash
# Start a one-node Slurm cluster on this machine (as root, without systemd) for the fleet tests:
# munged as user munge, slurmctld and slurmd as root, a slurm.conf naming this host and its CPUs.
# Idempotent; exits 0 with a message (the Slurm tests then skip with their reason) when Slurm
# cannot be installed or started.
set -uo pipefail
say() { echo "ci/slurm: $*"; }
if ! command -v slurmctld >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null) \
      || { say "slurm-wlm could not be installed; the Slurm tests will skip"; exit 0; }
  else
    say "no apt-get; the Slurm tests will skip"; exit 0
  fi
fi
if sinfo -h >/dev/null 2>&1 && [ "$(sinfo -h -o %T | head -1)" = "idle" ]; then say "already up"; exit 0; fi
host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
conf_dir=/etc/slurm
mkdir -p "$conf_dir" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge /var/lib/munge /var/log/munge /etc/munge
cat > "$conf_dir/slurm.conf" <<CONF
ClusterName=tipc-ci
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
if [ ! -s /etc/munge/munge.key ]; then
  if command -v mungekey >/dev/null 2>&1; then mungekey -c -f -k /etc/munge/munge.key >/dev/null 2>&1
  else dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none; fi
fi
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null
chmod 0700 /etc/munge /var/lib/munge /var/log/munge; chmod 0400 /etc/munge/munge.key; chmod 0755 /run/munge
pgrep -x munged >/dev/null || su -s /bin/sh munge -c "/usr/sbin/munged" || { say "munged did not start"; exit 0; }
pgrep -x slurmctld >/dev/null || slurmctld || { say "slurmctld did not start"; exit 0; }
pgrep -x slurmd >/dev/null || slurmd || { say "slurmd did not start"; exit 0; }
for _ in $(seq 1 30); do
  state=$(sinfo -h -o %T 2>/dev/null | head -1)
  if [ "$state" = "idle" ]; then say "up: node $host, $cpus CPUs"; exit 0; fi
  if [ -n "$state" ] && [ "$state" != "idle" ]; then scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1; fi
  sleep 1
done
say "the node did not come up ($(sinfo -h 2>&1 | head -1)); the Slurm tests will skip"
exit 0
