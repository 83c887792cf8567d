#!/usr/bin/env python3
"""The guest-image scripts (vm/image/build.sh, build-kernel.sh) run as root and trust their cache:
a cache another user may change is refused before any work, and kernel.env is read, never run.
Red team, 2026-12-06: with the cache owned by another user, they planted kernels/<key>/kernel.env
(the key is computed from public inputs) and build.sh sourced it as root.
    image_cache_trust.py SOURCE_DIR        (root; exit 77 = skipped)
Everything happens on a tmpfs mounted in a private mount namespace over a root-owned directory
(/mnt), so that the directories above each cache are trusted and only the fault a case plants
can be refused; nobody else sees the tmpfs and it goes when the test ends. No kernel is ever
built: `make` and `tar` are shadowed by stand-ins that fail, and `nobody` is the other user.
"""
import hashlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
failures = []


def check(ok, what, detail=""):
    print(("ok:   " + what) if ok else ("FAIL: " + what + (f" ({detail})" if detail else "")))
    if not ok:
        failures.append(what)


class Env:
    def __init__(self, src, base):
        self.src, self.base = src, base
        self.build = os.path.join(src, "vm/image/build.sh")
        self.kernel = os.path.join(src, "vm/image/build-kernel.sh")
        self.nobody = pwd.getpwnam("nobody").pw_uid
        # Stand-ins for the kernel build's first steps: a case that reached them fails fast.
        self.shadow = os.path.join(base, "shadow")
        os.makedirs(self.shadow)
        for tool in ("make", "tar"):
            with open(os.path.join(self.shadow, tool), "w") as f:
                f.write("#!/bin/sh\necho 'image_cache_trust: a kernel build was started' >&2\nexit 1\n")
            os.chmod(os.path.join(self.shadow, tool), 0o755)
        self.env = {k: v for k, v in os.environ.items() if k != "MICROVM_IMAGE_CACHE"}
        self.env["PATH"] = self.shadow + ":" + os.environ.get("PATH", "/usr/bin:/bin")
        # A file the kernel's HdrS check takes for a bzImage.
        self.bzimage = os.path.join(base, "bzImage")
        data = bytearray(8192)
        data[514:518] = b"HdrS"
        with open(self.bzimage, "wb") as f:
            f.write(data)

    def run(self, script, *args):
        r = subprocess.run(["nice", "timeout", "-k", "5", "120", script, *args], env=self.env,
                           capture_output=True, text=True)
        return r.returncode, r.stdout, r.stderr

    def kernel_key(self):
        """build-kernel.sh's key, from public inputs as an attacker computes it."""
        script = ('echo "fragment $(sha256sum < "$1/vm/image/kernel.config")"; '
                  'echo "source linux-source-6.1 $(dpkg-query -W -f=\'${Version}\' linux-source-6.1 2>/dev/null)"; '
                  'echo "script $(sha256sum < "$1/vm/image/build-kernel.sh")"; '
                  'echo "compiler $(gcc --version | head -n1)"')
        text = subprocess.run(["bash", "-c", script, "-", self.src], capture_output=True, check=True).stdout
        return hashlib.sha256(text).hexdigest()[:32]

    def plant_kernel(self, cache, marker):
        """A complete-looking kernel directory whose kernel.env runs `touch marker` if sourced."""
        key = self.kernel_key()
        kdir = os.path.join(cache, "kernels", key)
        os.makedirs(kdir)
        sizes = {}
        for name in ("vmlinux", "bzImage", "config"):
            shutil.copyfile(self.bzimage, os.path.join(kdir, name))
            sizes[name] = os.path.getsize(os.path.join(kdir, name))
        with open(os.path.join(kdir, "kernel.env"), "w") as f:
            f.write(f"KERNEL_KEY={key}\nKERNEL_RELEASE=6.1.0-planted\n"
                    f"KERNEL_SOURCE=\"$(touch '{marker}')\"\nKERNEL_COMPILER=\"gcc\"\nKERNEL_BUILD_SECONDS=1\n"
                    f"VMLINUX_SIZE={sizes['vmlinux']}\nBZIMAGE_SIZE={sizes['bzImage']}\nCONFIG_SIZE={sizes['config']}\n"
                    f"touch '{marker}'\n")
        return kdir


def chown_tree(path, uid):
    for dirpath, dirs, files in os.walk(path):
        os.chown(dirpath, uid, -1)
        for name in files:
            os.chown(os.path.join(dirpath, name), uid, -1)


def refused(e, name, fault_words, make_cache):
    """build.sh and build-kernel.sh refuse the cache make_cache() returns, naming fault_words,
    before any work; build.sh does not run the kernel.env planted there."""
    for script in (e.build, e.kernel):
        cache, marker = make_cache(os.path.join(e.base, "".join(c if c.isalnum() else "-" for c in name) +
                                                "-" + os.path.basename(script)))
        args = ["--agent", "/bin/busybox", "--no-current"] if script == e.build else []
        rc, out, err = e.run(script, "--cache", cache, *args)
        what = f"{os.path.basename(script)}, {name}"
        check(rc != 0 and "refusing the cache" in err and fault_words in err,
              f"{what}: refused naming '{fault_words}'", f"rc {rc}, stderr: {err.strip()[-400:]!r}")
        check(not os.path.exists(marker), f"{what}: the planted kernel.env did not run")
        check("kernel build was started" not in err, f"{what}: no kernel build started")


def cache_cases(e):
    def another_users(root):
        cache = os.path.join(root, "cache")
        os.makedirs(cache)
        e.plant_kernel(cache, root + "/MARKER")
        chown_tree(cache, e.nobody)
        return cache, root + "/MARKER"

    def below_another_users(root):
        cache = os.path.join(root, "theirs", "cache")
        os.makedirs(cache)
        e.plant_kernel(cache, root + "/MARKER")
        os.chown(os.path.join(root, "theirs"), e.nobody, -1)
        return cache, root + "/MARKER"

    def writable(mode):
        def make(root):
            cache = os.path.join(root, "cache")
            os.makedirs(cache)
            e.plant_kernel(cache, root + "/MARKER")
            os.chmod(cache, mode)
            return cache, root + "/MARKER"
        return make

    def in_sticky(root):
        os.makedirs(os.path.join(root, "tmp"))
        os.chmod(os.path.join(root, "tmp"), 0o1777)
        cache = os.path.join(root, "tmp", "cache")
        os.makedirs(cache)
        e.plant_kernel(cache, root + "/MARKER")
        return cache, root + "/MARKER"

    def through_symlink(root):
        cache, marker = another_users(root)
        os.symlink(cache, os.path.join(root, "link"))
        return os.path.join(root, "link"), marker

    refused(e, "owned by nobody", f"owned by uid {e.nobody}", another_users)
    refused(e, "below nobody's directory", f"owned by uid {e.nobody}", below_another_users)
    refused(e, "group-writable", "writable by its group", writable(0o775))
    refused(e, "other-writable", "writable by others", writable(0o777))
    refused(e, "below a sticky /tmp-like directory", "writable by others", in_sticky)
    refused(e, "a symlink to nobody's cache", f"owned by uid {e.nobody}", through_symlink)


def kernel_env_is_read_not_run(e):
    """In a trusted cache, a kernel.env with shell in it is read as text: build.sh makes an
    image from the (stand-in) kernel there, and the marker is never made."""
    root = os.path.join(e.base, "trusted")
    cache = os.path.join(root, "cache")
    os.makedirs(cache)
    marker = root + "/MARKER"
    e.plant_kernel(cache, marker)
    rc, out, err = e.run(e.build, "--cache", cache, "--agent", "/bin/busybox", "--no-current")
    check(not os.path.exists(marker), "kernel.env in a trusted cache: not run")
    check("kernel build was started" not in err, "kernel.env in a trusted cache: no kernel build started")
    check(rc == 0, "kernel.env in a trusted cache: the image is made", f"rc {rc}, stderr: {err.strip()[-400:]!r}")
    if rc == 0:
        with open(os.path.join(out.strip().splitlines()[-1], "manifest.json")) as f:
            source = json.load(f)["kernel"]["source"]
        check(source == f"$(touch '{marker}')", f"kernel.env's value taken as text: {source!r}")


def trusted_cache_is_used(e):
    """The control: a trusted cache below the same directories is not refused."""
    cache = os.path.join(e.base, "control", "cache")
    rc, out, err = e.run(e.build, "--cache", cache, "--agent", "/bin/busybox", "--no-current",
                         "--kernel-image", e.bzimage)
    check(rc == 0 and os.path.isfile(os.path.join(out.strip().splitlines()[-1] if out.strip() else "-", "manifest.json")),
          "a trusted cache (made by the script) is used", f"rc {rc}, stderr: {err.strip()[-400:]!r}")


def run(argv, script, cases):
    """Runs cases(Env) as root in a private mount namespace over a tmpfs; 77 when it cannot."""
    src = os.path.abspath(argv[1])
    if os.geteuid() != 0:
        print("skipped: the scripts are tested as root (chown to nobody, mount)")
        return SKIP
    if not os.path.exists("/bin/busybox") or shutil.which("lz4") is None:
        print("skipped: busybox-static or lz4 missing (scripts/setup-deps.sh)")
        return SKIP
    if os.environ.get("IMAGE_SCRIPT_TEST_IN_NS") != "1":
        if subprocess.run(["unshare", "--mount", "--propagation", "private", "true"]).returncode != 0:
            print("skipped: no private mount namespace (unshare --mount)")
            return SKIP
        env = dict(os.environ, IMAGE_SCRIPT_TEST_IN_NS="1")
        return subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable,
                               os.path.abspath(script), *argv[1:]], env=env).returncode
    base = "/mnt"
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755,size=256m", "image-script-test", base]).returncode != 0:
        print(f"skipped: cannot mount a tmpfs on {base}")
        return SKIP
    base = tempfile.mkdtemp(dir=base)
    os.chmod(base, 0o755)
    e = Env(src, base)
    for case in cases:
        case(e)
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(run(sys.argv, __file__, [cache_cases, kernel_env_is_read_not_run, trusted_cache_is_used]))
