#!/usr/bin/env python3
"""Runs the original DIMACS ride-hailing environment (pyhailing 0.0.9, its official configuration
and evaluation seed) with a Doorstep dispatch policy, driven over `doorstep policy --stdio`.

Prints one JSON object per episode and line, for example

    {"episode": 0, "config": "SUI", "policy": "batch+reposition", "profit": 19012.5, ...}

The protocol is docs/policy-protocol.md; installation is in this folder's README.md.
"""

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

# pyhailing uses the aliases np.int, np.bool and np.complex, deprecated in numpy 1.20 and removed
# in 1.24. The pinned numpy (1.23.5) still has them; with a newer one, put them back.
warnings.filterwarnings("ignore", category=DeprecationWarning)
for _name, _type in (("int", int), ("bool", bool), ("complex", complex), ("float", float)):
    if _name not in np.__dict__:
        setattr(np, _name, _type)

from pyhailing import RidehailEnv  # noqa: E402  (after the shim)

# pyhailing's job types (pyhailing.core.Jobs) as the protocol names them; 4 (NULL) is no job.
JOB_KINDS = {0: "idle", 1: "reposition", 2: "to_pickup", 3: "ride"}


def observation_line(obs, num_vehicles):
    """One protocol observation from a pyhailing observation (same km frame, same units)."""
    locs = obs["request_locs"]
    times = obs["request_times"]
    requests = [
        {
            "origin": locs[i, 0].tolist(),
            "destination": locs[i, 1].tolist(),
            "release": float(times[i]),
        }
        for i in range(len(times))
    ]
    vehicles = []
    for v in range(num_vehicles):
        jobs = []
        for j in range(3):
            kind = int(obs["v_jobs"][v, j])
            if kind not in JOB_KINDS:
                break
            jobs.append(
                {
                    "kind": JOB_KINDS[kind],
                    "origin": obs["v_job_locs"][v, j, 0].tolist(),
                    "destination": obs["v_job_locs"][v, j, 1].tolist(),
                }
            )
        vehicles.append({"position": obs["v_locs"][v].tolist(), "jobs": jobs})
    return json.dumps(
        {"time": float(obs["time"]), "dow": int(obs["dow"]), "requests": requests, "vehicles": vehicles}
    )


def pyhailing_action(answer, num_requests, num_vehicles, num_lots):
    """pyhailing's action arrays from a protocol action line."""
    assignments = np.full((num_requests,), num_vehicles, dtype=int)
    rejections = np.zeros((num_requests,), dtype=int)
    for i, a in enumerate(answer["requests"]):
        if isinstance(a, int):
            assignments[i] = a
        elif a == "reject":
            rejections[i] = 1
    reposition = np.full((num_vehicles,), num_lots, dtype=int)
    for v, lot in enumerate(answer["vehicles"]):
        if lot is not None:
            reposition[v] = lot
    return {"req_rejections": rejections, "req_assgts": assignments, "reposition": reposition}


class Doorstep:
    """A `doorstep policy --stdio` child process: one line in, one line out."""

    def __init__(self, command):
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )

    def ask(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            raise RuntimeError(f"doorstep exited (status {self.proc.poll()})")
        reply = json.loads(answer)
        if "code" in reply:
            raise RuntimeError(f"doorstep answered an error: {reply}")
        return reply

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def default_doorstep():
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in (
        os.environ.get("DOORSTEP_BIN"),
        os.path.join(here, "..", "..", "target", "release", "doorstep"),
        shutil.which("doorstep"),
    ):
        if candidate and os.path.isfile(candidate):
            return os.path.abspath(candidate)
    return "doorstep"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", choices=["SUI", "MUI", "LUI", "LTI"], default="SUI")
    parser.add_argument("--episodes", type=int, default=1, help="episodes to run")
    parser.add_argument(
        "--skip", type=int, default=0,
        help="episodes of the seed's sequence to skip first (reset without playing them), "
        "so that several processes can share the work",
    )
    parser.add_argument("--doorstep", default=default_doorstep(), help="path of the doorstep binary")
    parser.add_argument(
        "--policy", default="batch+reposition", choices=["greedy", "batch", "batch+reposition"]
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    config = dict(getattr(RidehailEnv.DIMACS_CONFIGS, args.config))
    config["nickname"] = "doorstep"
    # In evaluation mode (the official configuration) pyhailing writes a results file into the
    # working directory at the end of each episode: keep it out of the caller's directory.
    workdir = tempfile.mkdtemp(prefix="pyhailing-")
    cwd = os.getcwd()
    os.chdir(workdir)
    doorstep = Doorstep([args.doorstep, "policy", "--stdio", "--class", args.config, "--policy", args.policy])
    try:
        env = RidehailEnv(**config)
        num_v, num_lots = env.num_vehicles, env.num_lots
        for _ in range(args.skip):
            env.reset()
        for k in range(args.episodes):
            started = time.time()
            obs = env.reset()
            doorstep.ask(json.dumps({"start": {
                "class": args.config,
                "vehicles": config["num_vehicles"],
                "requests": config["num_requests"],
            }}))
            done, steps, sent, policy_s = False, 0, 0, 0.0
            while not done:
                t0 = time.time()
                answer = doorstep.ask(observation_line(obs, num_v))
                policy_s += time.time() - t0
                action = pyhailing_action(answer, len(obs["request_times"]), num_v, num_lots)
                sent += int((action["req_assgts"] != num_v).sum())
                obs, _reward, done, _info = env.step(action)
                steps += 1
            # Diagnostics, read from the environment's request table.
            served = int(env._requests["vehicle"].notna().sum())
            request_value = float(env._requests["value"].sum())
            print(json.dumps({
                "episode": args.skip + k,
                "config": args.config,
                "policy": args.policy,
                "profit": round(float(env.rewards), 2),
                "served": served,
                "requests": config["num_requests"],
                "request_value": round(request_value, 2),
                "refused_assignments": sent - served,
                "weekday": int(obs["dow"]),
                "steps": steps,
                "policy_s": round(policy_s, 2),
                "wall_s": round(time.time() - started, 1),
            }), flush=True)
    finally:
        doorstep.close()
        os.chdir(cwd)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
