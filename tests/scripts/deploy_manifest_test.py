#!/usr/bin/env python3
"""Checks the shipped Kubernetes manifest against what microvmd accepts.

kubelet makes its volume directories writable by others (a configMap's and an emptyDir's 0777, a
secret's tmpfs 1777) and their files symlinks into a directory that moves on every update;
microvmd refuses its settings file, token file and state directory in such a place (it checks the
whole directory chain, as trusted_real_path does). The manifest must therefore mount those files
by subPath (a bind of one file into the image's root-owned directories) and keep the state
directory off kubelet's volumes. This check failed on the manifest as first shipped, which could
not start microvmd at all (red team, 2026-12-06).

Usage: deploy_manifest_test.py MANIFEST
"""
import re
import sys

KUBELET_KINDS = ("configMap", "secret", "emptyDir")
CHECKED_FLAGS = ("--config", "--token-file", "--tls-key", "--state-dir", "--audit-log")


def parse(text):
    """The manifest's args, volumes (name -> kind) and mounts, from its flow-style lines."""
    args = dict(re.findall(r"^\s*-\s*(--[a-z-]+)=(\S+)", text, re.M))
    volumes = {}
    for name, body in re.findall(r"^\s*-\s*name:\s*(\S+)\s*\n\s*(\w+):", text, re.M):
        volumes[name] = body
    mounts = []
    for m in re.finditer(r"^\s*-\s*\{(name:[^}]*mountPath:[^}]*)\}", text, re.M):
        fields = dict(
            (k.strip(), v.strip()) for k, v in (f.split(":", 1) for f in m.group(1).split(",")))
        mounts.append(fields)
    return args, volumes, mounts


def problems(text):
    args, volumes, mounts = parse(text)
    out = []
    if not mounts:
        out.append("no volumeMounts found: the check no longer understands the manifest")
    for m in mounts:
        kind = volumes.get(m["name"])
        if kind is None:
            out.append(f"mount of unknown volume {m['name']}")
            continue
        if kind in KUBELET_KINDS and "subPath" not in m:
            out.append(f"{kind} volume '{m['name']}' mounted as a directory at {m['mountPath']}: "
                       "kubelet makes it writable by others, and microvmd refuses what lies in it; "
                       "mount each file by subPath")
    for flag in CHECKED_FLAGS:
        path = args.get(flag)
        if path is None:
            out.append(f"{flag} is not among the daemon's args")
            continue
        for m in mounts:
            if volumes.get(m["name"]) not in KUBELET_KINDS or "subPath" in m:
                continue
            top = m["mountPath"].rstrip("/")
            if path == top or path.startswith(top + "/"):
                out.append(f"{flag}={path} lies in kubelet's {volumes[m['name']]} volume at {top}")
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    found = problems(open(sys.argv[1], encoding="utf-8").read())
    for p in found:
        print(f"{sys.argv[1]}: {p}")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
