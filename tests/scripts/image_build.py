#!/usr/bin/env python3
"""What vm/image/build.sh puts in the cache, with a prebuilt stand-in kernel (no kernel is built;
see image_cache_trust.py for the namespace, the tmpfs and the stand-ins).
    image_build.py SOURCE_DIR inputs    the image holds the bytes its manifest names, even when
                                        an input is swapped at its path during the build; a
                                        $TMPDIR of another user is refused
"""
import hashlib
import json
import os
import subprocess
import sys

from image_cache_trust import SKIP, check, run


def newc_files(data):
    """name -> bytes of the regular files of a newc cpio archive."""
    files, at = {}, 0
    while at + 110 <= len(data):
        header = data[at:at + 110]
        if header[:6] != b"070701":
            raise ValueError(f"no newc header at {at}")
        field = [int(header[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = field[1], field[6], field[11]
        name = data[at + 110:at + 110 + namesize - 1].decode()
        at = (at + 110 + namesize + 3) & ~3
        if name == "TRAILER!!!":
            break
        if mode & 0o170000 == 0o100000:
            files[name.lstrip("/")] = data[at:at + size]
        at = (at + size + 3) & ~3
    return files


def image_files(image):
    with open(os.path.join(image, "manifest.json")) as f:
        manifest = json.load(f)
    name = manifest["files"]["initramfs"]["name"]
    cpio = subprocess.run(["lz4", "-d", "-c", os.path.join(image, name)], capture_output=True, check=True).stdout
    return manifest, newc_files(cpio)


def inputs_swapped_during_the_build(e):
    """A --busybox that, when build.sh runs it for its applet list (after the inputs are hashed,
    before the archive is written), appends to the --agent file: the image must still hold the
    agent the manifest names."""
    swapper = os.path.join(e.base, "swapper")
    with open(swapper + ".c", "w") as f:
        f.write('#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n'
                'int main(int argc, char **argv) {\n'
                '  if (argc > 1 && strcmp(argv[1], "--list") == 0) {\n'
                '    const char *p = getenv("SWAP_AGENT");\n'
                '    FILE *f = p ? fopen(p, "ab") : NULL;\n'
                '    if (f) { fputs("swapped after the hash", f); fclose(f); }\n'
                '    puts("sh");\n'
                '  }\n'
                '  return 0;\n'
                '}\n')
    if subprocess.run(["gcc", "-static", "-O", "-o", swapper, swapper + ".c"]).returncode != 0:
        print("skipped (case): gcc -static cannot link here")
        return
    agent = os.path.join(e.base, "agent")
    with open("/bin/busybox", "rb") as src, open(agent, "wb") as dst:
        dst.write(src.read())
    os.chmod(agent, 0o755)
    e.env["SWAP_AGENT"] = agent
    try:
        rc, out, err = e.run(e.build, "--cache", os.path.join(e.base, "inputs", "cache"), "--agent", agent,
                             "--busybox", swapper, "--no-current", "--kernel-image", e.bzimage)
    finally:
        del e.env["SWAP_AGENT"]
    check(rc == 0, "the image is made", f"rc {rc}, stderr: {err.strip()[-400:]!r}")
    if rc != 0:
        return
    with open(agent, "rb") as f:
        check(f.read().endswith(b"swapped after the hash"), "the agent was swapped during the build")
    manifest, files = image_files(out.strip().splitlines()[-1])
    init = hashlib.sha256(files.get("init", b"")).hexdigest()
    check(init == manifest["inputs"]["agent"]["sha256"],
          "the image's /init is the agent the manifest names", f"/init {init}, manifest {manifest['inputs']['agent']['sha256']}")
    busybox = hashlib.sha256(files.get("bin/busybox", b"")).hexdigest()
    check(busybox == manifest["inputs"]["busybox"]["sha256"], "the image's /bin/busybox is the one the manifest names")


def tmpdir_of_another_user(e):
    """The private copies and the kernel's build live in $TMPDIR: one that another user may
    change is refused (a sticky one of root's, as /tmp, is not)."""
    theirs = os.path.join(e.base, "their-tmp")
    os.makedirs(theirs)
    os.chown(theirs, e.nobody, -1)
    e.env["TMPDIR"] = theirs
    try:
        for script, args in ((e.build, ["--agent", "/bin/busybox", "--no-current", "--kernel-image", e.bzimage]),
                             (e.kernel, [])):
            rc, out, err = e.run(script, "--cache", os.path.join(e.base, "tmpdir", "cache"), *args)
            check(rc != 0 and "refusing the temporary directory (TMPDIR)" in err and f"uid {e.nobody}" in err,
                  f"{os.path.basename(script)}: a TMPDIR owned by nobody is refused", f"rc {rc}, stderr: {err.strip()[-400:]!r}")
            check("kernel build was started" not in err, f"{os.path.basename(script)}: no kernel build started")
    finally:
        e.env.pop("TMPDIR")


GROUPS = {"inputs": [inputs_swapped_during_the_build, tmpdir_of_another_user]}

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[2] not in GROUPS:
        print(__doc__)
        sys.exit(2)
    sys.exit(run(sys.argv, __file__, GROUPS[sys.argv[2]]))
