#!/usr/bin/env python3
"""What vm/image/build.sh puts in the cache, with a prebuilt stand-in kernel (no kernel is built;
see image_cache_trust.py for the namespace, the tmpfs and the stand-ins).
    image_build.py SOURCE_DIR inputs    the image holds the bytes its manifest names, even when
                                        an input is swapped at its path during the build; a
                                        $TMPDIR of another user is refused
    image_build.py SOURCE_DIR repair    an incomplete image or kernel directory in the cache is
                                        built again (not "cached" for good, not in the way of
                                        the rename); stage directories of dead builds are swept
    image_build.py SOURCE_DIR modules   with --modules: what decides the modules packed and the
                                        boot settings is read from the copies hashed (a module
                                        swapped during the build, other built-in lists)
    image_build.py SOURCE_DIR current   switching `current`: dead writers' temporary links are
                                        swept; an incomplete image it names is replaced in one
                                        rename once the new one is whole, never removed in place
                                        (two renames where the exchange fails, as on overlayfs;
                                        killed between them, the new image is left in place);
                                        a prune never removes the image current is switched to
"""
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
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


def stand_in_busybox(path, on_list):
    """Builds at path a static stand-in for busybox that runs the C statements on_list when
    build.sh asks it for its applet list (`--list`), then names one applet (sh). False, the case
    skipped, where gcc cannot link statically."""
    with open(path + ".c", "w") as f:
        f.write('#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n'
                'int main(int argc, char **argv) {\n'
                '  if (argc > 1 && strcmp(argv[1], "--list") == 0) {\n'
                + on_list +
                '    puts("sh");\n'
                '  }\n'
                '  return 0;\n'
                '}\n')
    if subprocess.run(["gcc", "-static", "-O", "-o", path, path + ".c"]).returncode != 0:
        print("skipped (case): gcc -static cannot link here")
        return False
    return True


def stand_in_path(e, root, name, body):
    """Writes root/hook/name, a sh script with body, and returns the PATH that finds it before
    the real one: a stand-in that acts at one moment of a build and otherwise runs the real tool."""
    hook = os.path.join(root, "hook")
    os.makedirs(hook, exist_ok=True)
    with open(os.path.join(hook, name), "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(os.path.join(hook, name), 0o755)
    return hook + ":" + e.env["PATH"]


@contextlib.contextmanager
def env_path(e, path):
    """e's commands run with this PATH while the block runs."""
    saved = e.env["PATH"]
    e.env["PATH"] = path
    try:
        yield
    finally:
        e.env["PATH"] = saved


def inputs_swapped_during_the_build(e):
    """A --busybox that, when build.sh runs it for its applet list (after the inputs are hashed,
    before the archive is written), appends to the --agent file: the image must still hold the
    agent the manifest names."""
    swapper = os.path.join(e.base, "swapper")
    if not stand_in_busybox(swapper, '    const char *p = getenv("SWAP_AGENT");\n'
                                     '    FILE *f = p ? fopen(p, "ab") : NULL;\n'
                                     '    if (f) { fputs("swapped after the hash", f); fclose(f); }\n'):
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


def dead_pid():
    with open("/proc/sys/kernel/pid_max") as f:
        return int(f.read()) + 1  # above pid_max: never a live process


def made_image(e, label, args):
    """build.sh run with args, checked under label: the image directory it printed, its key and
    its initramfs's name; None when it failed."""
    rc, out, err = e.run(e.build, *args)
    check(rc == 0, label, f"rc {rc}, stderr: {err.strip()[-400:]!r}")
    if rc != 0:
        return None
    image = out.strip().splitlines()[-1]
    with open(os.path.join(image, "manifest.json")) as f:
        initrd = json.load(f)["files"]["initramfs"]["name"]
    return image, os.path.basename(image), initrd


def image_is_whole(image):
    try:
        with open(os.path.join(image, "manifest.json")) as f:
            files = json.load(f)["files"]
        for name, entry in (("bzImage", files["bzImage"]), (files["initramfs"]["name"], files["initramfs"]["file"])):
            with open(os.path.join(image, name), "rb") as f:
                if hashlib.sha256(f.read()).hexdigest() != entry["sha256"]:
                    return False
        return True
    except (OSError, ValueError, KeyError, TypeError):
        return False


def incomplete_images_are_built_again(e):
    cache = os.path.join(e.base, "repair", "cache")
    args = ["--cache", cache, "--agent", "/bin/busybox", "--no-current", "--kernel-image", e.bzimage]
    made = made_image(e, "the image is made", args)
    if not made:
        return
    image, key, initrd = made

    def again(what, damage, runs=1):
        try:
            damage()
        except OSError as error:  # the script before it left no whole image
            print(f"note: {what}: {error}")
        for n in range(runs):
            rc, out, err = e.run(e.build, *args)
            whole = rc == 0 and os.path.isdir(image) and image_is_whole(image)
            check(whole, f"{what}: run {n + 1} leaves a whole image", f"rc {rc}, stderr: {err.strip()[-400:]!r}")
            if n == 0:
                check("cached:" not in err, f"{what}: not taken for cached")
    again("the initramfs removed", lambda: os.unlink(os.path.join(image, initrd)))
    again("the manifest removed", lambda: os.unlink(os.path.join(image, "manifest.json")), runs=2)

    def flip():
        with open(os.path.join(image, "bzImage"), "r+b") as f:
            f.seek(100)
            f.write(b"X")
    again("a byte of the kernel changed (same size)", flip)
    again("the kernel cut short", lambda: os.truncate(os.path.join(image, "bzImage"), 10))

    # Stage directories of this key's builds that died are swept; a live builder's is not, nor
    # another key's (its builder may run in a pid namespace this /proc does not show).
    key = os.path.basename(os.path.realpath(image))
    dead = os.path.join(cache, f".{key}.tmp.{dead_pid()}")
    live = os.path.join(cache, f".{key}.tmp.{os.getpid()}")
    other = os.path.join(cache, f".{'0' * 32}.tmp.{dead_pid()}")
    for d in (dead, live, other):
        os.makedirs(os.path.join(d, "junk"))
    again("stage directories left", lambda: os.unlink(os.path.join(image, "manifest.json")))
    check(not os.path.exists(dead), "a dead build's stage directory is swept")
    check(os.path.isdir(live), "a live build's stage directory stays")
    check(os.path.isdir(other), "another key's stage directory stays")


def incomplete_kernels_are_built_again(e):
    """build-kernel.sh takes a kernel directory for built only when its kernel.env records the
    files' sizes and they match; else it removes it first (mv would have moved the new build
    inside it). The stand-in `tar` stops the build right after: nothing is compiled."""
    def case(name, make):
        cache = os.path.join(e.base, "kernels-" + name, "cache")
        os.makedirs(cache)
        kdir = e.plant_kernel(cache, os.path.join(e.base, "kernels-" + name, "MARKER"))
        with open(os.path.join(kdir, "kernel.env")) as f:  # the planted one, without its shell line
            text = "".join(line for line in f if not line.startswith(("touch", "KERNEL_SOURCE")))
        with open(os.path.join(kdir, "kernel.env"), "w") as f:
            f.write(text + 'KERNEL_SOURCE="linux-source-6.1"\n')
        make(kdir)
        dead = os.path.join(cache, "kernels", f".{os.path.basename(kdir)}.tmp.{dead_pid()}")
        os.makedirs(dead)
        rc, out, err = e.run(e.kernel, "--cache", cache)
        return kdir, dead, rc, out, err

    kdir, dead, rc, out, err = case("complete", lambda kdir: None)
    check(rc == 0 and out.strip().splitlines()[-1:] == [kdir] and "cached:" in err,
          "a complete kernel directory is cached", f"rc {rc}, stderr: {err.strip()[-400:]!r}")
    for name, make in (("no-kernel-env", lambda kdir: os.unlink(os.path.join(kdir, "kernel.env"))),
                       ("bzImage-missing", lambda kdir: os.unlink(os.path.join(kdir, "bzImage"))),
                       ("vmlinux-cut-short", lambda kdir: os.truncate(os.path.join(kdir, "vmlinux"), 10))):
        kdir, dead, rc, out, err = case(name, make)
        check("cached:" not in err and "kernel build was started" in err,
              f"kernel directory, {name}: built again", f"rc {rc}, stderr: {err.strip()[-400:]!r}")
        check(not os.path.exists(kdir), f"kernel directory, {name}: removed first")
        check(not os.path.exists(dead), f"kernel directory, {name}: a dead build's stage directory is swept")


def fake_module(e, path, info):
    """A relocatable ELF whose .modinfo holds the strings of info (readelf -p reads them)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    source = path + ".c"
    text = "".join(c if c.isalnum() or c in "=,:_- ." else f"\\{ord(c):03o}" for c in "\0".join(info))
    with open(source, "w") as f:
        f.write(f'__attribute__((used, section(".modinfo"))) static const char info[] = "{text}";\n')
    subprocess.run(["gcc", "-c", "-o", path, source], check=True)
    os.unlink(source)


def module_tree(e, root, builtin_extra=()):
    """A /lib/modules/<release> of a prebuilt kernel: virtio_mmio (and virtio_ring, which no
    module needs) as modules, every other wanted module built in."""
    tree = os.path.join(root, "6.1.0-test")
    fake_module(e, os.path.join(tree, "kernel/drivers/virtio/virtio_mmio.ko"), ["name=virtio_mmio", "depends="])
    fake_module(e, os.path.join(tree, "kernel/drivers/virtio/virtio_ring.ko"), ["name=virtio_ring", "depends="])
    with open(os.path.join(tree, "modules.builtin"), "w") as f:
        for m in ("char/virtio_console", "net/virtio_net", "block/virtio_blk", "char/hw_random/virtio-rng",
                  "vmw_vsock/vsock", "vmw_vsock/vmw_vsock_virtio_transport", *builtin_extra):
            f.write(f"kernel/drivers/{m}.ko\n")
    return tree


def modinfo_depends(e, data):
    path = os.path.join(e.base, "module-from-image.ko")
    with open(path, "wb") as f:
        f.write(data)
    out = subprocess.run(["readelf", "-p", ".modinfo", path], capture_output=True, text=True, check=True).stdout
    os.unlink(path)
    deps = [line.split("depends=", 1)[1].strip() for line in out.splitlines() if "depends=" in line]
    return [d for dep in deps for d in dep.split(",") if d]


def modules_swapped_during_the_build(e):
    """A module swapped at its path right after build.sh read its dependencies: the image holds
    the bytes whose dependencies were resolved, so every module packed has its dependencies
    packed (the swapped virtio_mmio.ko needs virtio_ring, which the original did not)."""
    root = os.path.join(e.base, "modules-swap")
    tree = module_tree(e, os.path.join(root, "lib"))
    swapped = os.path.join(root, "swapped.ko")
    fake_module(e, swapped, ["name=virtio_mmio", "depends=virtio_ring", "parm=device:the swapped one"])
    # A readelf that, after the first .modinfo read, swaps the original virtio_mmio.ko.
    path = stand_in_path(e, root, "readelf",
                         f'out="$({shutil.which("readelf")} "$@")"; rc=$?\n'
                         f'if [ "$1" = -p ] && [ "$2" = .modinfo ] && [ ! -e "{root}/done" ]; then\n'
                         f'  cp "{swapped}" "{tree}/kernel/drivers/virtio/virtio_mmio.ko" && touch "{root}/done"\nfi\n'
                         f'printf "%s\\n" "$out"; exit $rc\n')
    with env_path(e, path):
        rc, out, err = e.run(e.build, "--cache", os.path.join(root, "cache"), "--agent", "/bin/busybox",
                             "--no-current", "--kernel-image", e.bzimage, "--modules", tree)
    check(rc == 0, "modules: the image is made", f"rc {rc}, stderr: {err.strip()[-400:]!r}")
    if rc != 0:
        return
    check(os.path.exists(os.path.join(root, "done")), "modules: virtio_mmio.ko was swapped during the build")
    manifest, files = image_files(out.strip().splitlines()[-1])
    packed = {name[len("lib/modules/"):-len(".ko")].replace("-", "_"): data
              for name, data in files.items() if name.startswith("lib/modules/")}
    check(sorted(packed) == sorted(manifest["kernel"]["modules"]), "modules: the manifest names the modules packed",
          f"packed {sorted(packed)}, manifest {manifest['kernel']['modules']}")
    for name, data in packed.items():
        missing = [d for d in modinfo_depends(e, data) if d.replace("-", "_") not in packed]
        check(not missing, f"modules: the packed {name} has its dependencies packed", f"missing {missing}")
    acpi = "off" if b"parm=device:" in packed.get("virtio_mmio", b"") else "on"
    check(manifest["boot"]["microvm_acpi"] == acpi, "modules: the boot settings are those of the packed virtio_mmio",
          f"microvm_acpi {manifest['boot']['microvm_acpi']!r}, the packed virtio_mmio's say {acpi!r}")


def module_lists_decide_the_key(e):
    """modules.builtin and modules.builtin.modinfo decide what is packed and how the image
    boots (shared_dirs_9p, microvm_acpi): another list is another image, never "cached"."""
    root = os.path.join(e.base, "modules-key")
    tree = module_tree(e, os.path.join(root, "lib"))
    args = ["--cache", os.path.join(root, "cache"), "--agent", "/bin/busybox", "--no-current",
            "--kernel-image", e.bzimage, "--modules", tree]

    def build(what, acpi, p9):
        rc, out, err = e.run(e.build, *args)
        check(rc == 0, f"modules, {what}: the image is made", f"rc {rc}, stderr: {err.strip()[-400:]!r}")
        if rc != 0:
            return
        with open(os.path.join(out.strip().splitlines()[-1], "manifest.json")) as f:
            boot = json.load(f)["boot"]
        check(boot["microvm_acpi"] == acpi and boot["shared_dirs_9p"] == p9,
              f"modules, {what}: microvm_acpi {acpi}, shared_dirs_9p {p9}", f"manifest: {boot}, stderr: {err.strip()[-300:]!r}")

    build("the first lists", "on", False)
    with open(os.path.join(tree, "modules.builtin"), "a") as f:
        f.write("kernel/fs/9p/9p.ko\nkernel/net/9p/9pnet_virtio.ko\n")
    build("9p built in since", "on", True)
    with open(os.path.join(tree, "modules.builtin.modinfo"), "wb") as f:
        f.write(b"virtio_mmio.parm=device:virtio-mmio devices\0")
    build("command-line virtio-mmio devices since", "off", True)


def dead_switches_of_current_are_swept(e):
    """The temporary links (.current.<pid>) of writers of `current` that died between making
    them and moving them over `current` are swept, when an image is built and when one is found
    cached; a live writer's is not."""
    cache = os.path.join(e.base, "current-links", "cache")
    os.makedirs(cache)
    args = ["--cache", cache, "--agent", "/bin/busybox", "--kernel-image", e.bzimage]
    dead = os.path.join(cache, f".current.{dead_pid()}")
    live = os.path.join(cache, f".current.{os.getpid()}")
    for what in ("built", "cached"):
        for link in (dead, live):
            if not os.path.lexists(link):
                os.symlink("0" * 32, link)
        rc, out, err = e.run(e.build, *args)
        check(rc == 0 and ("cached:" in err) == (what == "cached"), f"current, image {what}: made",
              f"rc {rc}, stderr: {err.strip()[-400:]!r}")
        if rc != 0:
            return
        check(os.readlink(os.path.join(cache, "current")) == os.path.basename(out.strip().splitlines()[-1]),
              f"current, image {what}: current names the image")
        check(not os.path.lexists(dead), f"current, image {what}: a dead writer's .current.<pid> is swept")
        check(os.path.islink(live), f"current, image {what}: a live writer's .current.<pid> stays")


def a_switch_in_another_pid_namespace_is_left_alone(e):
    """A writer of `current` in another pid namespace, between making its .current.<pid> and
    moving it, under the lock every writer takes: its pid is not in this /proc, and yet its link
    is not swept (its move would fail), since build.sh waits for the lock."""
    root = os.path.join(e.base, "current-pidns")
    cache = os.path.join(root, "cache")
    args = ["--cache", cache, "--agent", "/bin/busybox", "--kernel-image", e.bzimage]
    rc, out, err = e.run(e.build, *args, "--no-current")  # cached below: it reaches current at once
    check(rc == 0, "pid namespace: the image is made", f"rc {rc}, stderr: {err.strip()[-400:]!r}")
    if rc != 0:
        return
    with open("/proc/sys/kernel/pid_max") as f:
        pid_max = int(f.read())
    pid = next(p for p in range(pid_max - 1, 300, -1) if not os.path.exists(f"/proc/{p}"))
    ready, status = os.path.join(root, "ready"), os.path.join(root, "status")
    # The writer: pid `pid` in a new pid namespace (ns_last_pid), as build.sh switches `current`.
    writer = (f'echo {pid - 1} > /proc/sys/kernel/ns_last_pid && bash -c \''
              f'exec 8>"{cache}/.current.lock" && flock 8 && ln -sfn writer "{cache}/.current.$$" && '
              f'echo $$ > "{ready}" && sleep 3 && mv -T "{cache}/.current.$$" "{cache}/current" && '
              f'echo moved > "{status}" || echo failed > "{status}"\'; true')  # true: bash -c forks
    proc = subprocess.Popen(["unshare", "--pid", "--fork", "bash", "-c", writer])
    try:
        for _ in range(100):
            if os.path.exists(ready) and open(ready).read().strip():
                break
            subprocess.run(["sleep", "0.1"])
        ns_pid = open(ready).read().strip() if os.path.exists(ready) else ""
        if ns_pid != str(pid) or os.path.exists(f"/proc/{pid}"):
            print(f"skipped (case): no writer of pid {pid} unseen here (got {ns_pid!r})")
            return
        rc, out, err = e.run(e.build, *args)
    finally:
        proc.wait(timeout=30)
    check(rc == 0, "pid namespace: build.sh switches current after the writer", f"rc {rc}, stderr: {err.strip()[-400:]!r}")
    check(open(status).read().strip() == "moved", "pid namespace: the writer's link was not swept (its move worked)")
    check(os.readlink(os.path.join(cache, "current")) == os.path.basename(out.strip().splitlines()[-1]),
          "pid namespace: current names build.sh's image (the later switch)")


def an_incomplete_current_is_replaced_whole(e):
    """An incomplete image that `current` names (a running VM may have its files open) stays in
    place until the new one is whole, which then takes its name in one rename: a stand-in busybox
    looks, while the image is being built, at what `current` names; after the build, the old
    files are gone from the cache (an open one still reads) and nothing is left over."""
    root = os.path.join(e.base, "current-replace")
    os.makedirs(root)
    hooked = os.path.join(root, "busybox")
    if not stand_in_busybox(hooked, '    const char *hook = getenv("BUSYBOX_HOOK");\n'
                                    '    if (hook && system(hook) != 0) return 1;\n'):
        return
    cache = os.path.join(root, "cache")
    args = ["--cache", cache, "--agent", "/bin/busybox", "--busybox", hooked, "--kernel-image", e.bzimage]
    made = made_image(e, "incomplete current: the image is made", args)
    if not made:
        return
    image, key, initrd = made
    os.unlink(os.path.join(image, initrd))
    seen = os.path.join(root, "seen")
    running = open(os.path.join(image, "bzImage"), "rb")  # a VM's open kernel
    e.env["BUSYBOX_HOOK"] = (f'if [ -f "{cache}/current/manifest.json" ] && [ -f "{cache}/current/bzImage" ]; '
                             f'then echo named > "{seen}"; else echo gone > "{seen}"; fi')
    try:
        rc, out, err = e.run(e.build, *args)
    finally:
        del e.env["BUSYBOX_HOOK"]
    with running:
        check(rc == 0 and "cached:" not in err, "incomplete current: built again", f"rc {rc}, stderr: {err.strip()[-400:]!r}")
        with open(seen) as f:
            during = f.read().strip()
        check(during == "named", "incomplete current: during the build, current still names an image directory "
              "with its manifest and kernel (not removed in place)", f"seen: {during}")
        check(os.readlink(os.path.join(cache, "current")) == key and image_is_whole(image),
              "incomplete current: after it, current names the whole image")
        check(os.fstat(running.fileno()).st_nlink == 0 and running.read(8192) == open(e.bzimage, "rb").read(),
              "incomplete current: the old kernel is gone from the cache and its open file still reads")
        left = sorted(n for n in os.listdir(cache) if n.startswith(f".{key}.tmp."))
        check(not left, "incomplete current: nothing left over", f"left: {left}")


def overlay_cache(e, root):
    """A cache on overlayfs (redirect_dir=off) whose image, built first in the lower layer, is
    made incomplete through the merged directory: overlayfs will not exchange that directory
    (EXDEV). (lower cache, merged cache, key, initramfs name), None when the case is skipped."""
    lower, upper, work, merged = (os.path.join(root, d) for d in ("lower", "upper", "work", "merged"))
    for d in (lower, upper, work, merged):
        os.makedirs(d)
    made = made_image(e, "overlayfs: the image is made in the lower layer",
                      ["--cache", os.path.join(lower, "cache"), "--agent", "/bin/busybox", "--kernel-image", e.bzimage])
    if not made:
        return None
    image, key, initrd = made
    if subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                       f"lowerdir={lower},upperdir={upper},workdir={work},redirect_dir=off", merged]).returncode != 0:
        print("skipped (case): cannot mount an overlayfs")
        return None
    cache = os.path.join(merged, "cache")
    os.unlink(os.path.join(cache, key, initrd))
    return cache, key, initrd


def rebuilt_on_overlayfs(e, name, label, want_rc, want, mv_body=None):
    """An incomplete image in an overlayfs lower layer built again (renameat2 RENAME_EXCHANGE
    fails there with EXDEV, so build.sh takes the two renames), with mv_body as a stand-in `mv`
    if given: build.sh ends with want_rc (want says why), and current names the whole image."""
    root = os.path.join(e.base, name)
    found = overlay_cache(e, root)
    if not found:
        return
    cache, key, initrd = found
    path = stand_in_path(e, root, "mv", mv_body) if mv_body else e.env["PATH"]
    try:
        with env_path(e, path):
            rc, out, err = e.run(e.build, "--cache", cache, "--agent", "/bin/busybox", "--kernel-image", e.bzimage)
        check(rc == want_rc and "two renames" in err, f"{label}: {want}", f"rc {rc}, stderr: {err.strip()[-400:]!r}")
        check(image_is_whole(os.path.join(cache, key)) and os.readlink(os.path.join(cache, "current")) == key,
              f"{label}: current names the whole image")
        left = sorted(n for n in os.listdir(cache) if n.startswith(f".{key}.tmp."))
        check(not left, f"{label}: nothing left over", f"left: {left}")
    finally:
        subprocess.run(["umount", os.path.join(root, "merged")])


def an_incomplete_image_on_overlayfs_is_replaced(e):
    """EXDEV from the exchange leads to the two renames (it died before)."""
    rebuilt_on_overlayfs(e, "overlay-exdev", "overlayfs", 0, "the exchange's EXDEV leads to the two renames")


def killed_between_the_two_renames(e):
    """A build killed (SIGTERM) between the two renames, the old image moved aside and the new
    one not yet in its place, leaves the new image whole at its name (it removed both): a stand-in
    `mv` signals build.sh right after moving the old one aside."""
    rebuilt_on_overlayfs(e, "overlay-killed", "killed between the renames", 130, "build.sh was killed there",
                         f'{shutil.which("mv")} "$@" || exit $?\ncase "$3" in *.old) kill -TERM $PPID ;; esac\n')


def lock_files_are_the_owners_alone(e):
    """The lock files the builds wait on are 0600 (red team, 2026-12-06): a local user who can
    open one can flock it, and every build as root then waits on them for good. A lock file an
    older script left 0644 is made 0600 too."""
    cache = os.path.join(e.base, "locks", "cache")
    os.makedirs(cache)
    old = os.path.join(cache, ".current.lock")
    with open(old, "w"):
        pass
    os.chmod(old, 0o644)
    made_image(e, "locks: the image is made", ["--cache", cache, "--agent", "/bin/busybox", "--kernel-image", e.bzimage])
    locks = {n: os.stat(os.path.join(cache, n)).st_mode & 0o7777 for n in os.listdir(cache) if n.endswith(".lock")}
    check(len(locks) == 2 and all(mode == 0o600 for mode in locks.values()),
          "locks: the key's lock and current's are 0600", f"modes: { {n: oct(m) for n, m in locks.items()} }")


def take_lock_takes_only_a_number(e):
    """take_lock (trust.sh) evals the descriptor it is given: anything but a number is refused
    before the eval (shell in it never runs); a number still makes the 0600 lock file."""
    root = os.path.join(e.base, "take-lock")
    os.makedirs(root)
    marker, lock = os.path.join(root, "MARKER"), os.path.join(root, "lock")
    script = ('die() { echo "die: $*" >&2; exit 1; }; log() { :; }; . "$1/vm/image/trust.sh"; '
              'take_lock "$2" "$3" && echo locked')
    for fd in (f"9>/dev/null; touch {marker}; : 9", "9 ", "", "-1"):
        r = subprocess.run(["bash", "-c", script, "-", e.src, fd, lock], capture_output=True, text=True)
        check(r.returncode != 0 and "not a file descriptor number" in r.stderr and not os.path.exists(marker)
              and not os.path.exists(lock), f"take_lock: fd {fd!r} refused, nothing run or made",
              f"rc {r.returncode}, stderr: {r.stderr.strip()[-300:]!r}")
    r = subprocess.run(["bash", "-c", script, "-", e.src, "9", lock], capture_output=True, text=True)
    check(r.returncode == 0 and r.stdout.strip() == "locked" and os.stat(lock).st_mode & 0o7777 == 0o600,
          "take_lock: fd 9 takes the lock, 0600", f"rc {r.returncode}, stderr: {r.stderr.strip()[-300:]!r}")


def a_prune_never_removes_what_current_names(e):
    """A build that finds its image cached, between that check and its switch of `current`,
    while another build's prune removes that image (older than 14 days): current never names
    the removed image (the prune holds current's lock; the switch checks the image again under
    it and builds it again), and the prune leaves the key's lock file alone. A stand-in `flock`
    holds the first build right before it takes current's lock."""
    root = os.path.join(e.base, "prune")
    cache = os.path.join(root, "cache")
    os.makedirs(root)
    old_args = ["--cache", cache, "--agent", "/bin/busybox", "--kernel-image", e.bzimage, "--compression", "gzip"]
    made = made_image(e, "prune: the old image is made", old_args + ["--no-current"])
    if not made:
        return
    image, key, initrd = made
    weeks_ago = os.stat(image).st_mtime - 20 * 86400
    os.utime(image, (weeks_ago, weeks_ago))
    pause = os.path.join(root, "pause")
    path = stand_in_path(e, root, "flock",
                         f'if [ "$1" = 8 ] && [ ! -e "{pause}.done" ]; then\n'
                         f'  touch "{pause}.done" "{pause}.ready"\n'
                         f'  while [ ! -e "{pause}.go" ]; do sleep 0.1; done\nfi\n'
                         f'exec {shutil.which("flock")} "$@"\n')
    held = subprocess.Popen(["nice", "timeout", "-k", "5", "120", e.build, *old_args],
                            env=dict(e.env, PATH=path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(300):
            if os.path.exists(pause + ".ready") or held.poll() is not None:
                break
            subprocess.run(["sleep", "0.1"])
        check(os.path.exists(pause + ".ready"), "prune: the first build is held before current's lock")
        rc, out, err = e.run(e.build, "--cache", cache, "--agent", "/bin/busybox", "--kernel-image", e.bzimage)
        check(rc == 0 and not os.path.exists(image), "prune: another build made its image and pruned the old one",
              f"rc {rc}, stderr: {err.strip()[-400:]!r}")
        check(os.path.exists(os.path.join(cache, f".{key}.lock")), "prune: the pruned key's lock file stays")
    finally:
        open(pause + ".go", "w").close()
        out, err = held.communicate(timeout=150)
    check(held.returncode == 0, "prune: the held build ends well", f"rc {held.returncode}, stderr: {err.strip()[-400:]!r}")
    current = os.path.join(cache, os.readlink(os.path.join(cache, "current")))
    check(current == image and image_is_whole(image),
          "prune: current names the held build's image, whole (built again)", f"current -> {current}")

    # The prune waits for current's lock: while this test holds it, an image older than 14 days
    # stays after a build (--no-current: only its prune takes the lock) has put its own in place.
    older = next(os.path.join(cache, n) for n in os.listdir(cache)
                 if len(n) == 32 and n != key and os.path.isfile(os.path.join(cache, n, "manifest.json")))
    os.utime(older, (weeks_ago, weeks_ago))
    agent = os.path.join(root, "agent")
    with open("/bin/busybox", "rb") as src, open(agent, "wb") as dst:
        dst.write(src.read() + b"another agent")
    os.chmod(agent, 0o755)
    with open(os.path.join(cache, ".current.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        pruner = subprocess.Popen(["nice", "timeout", "-k", "5", "120", e.build, "--cache", cache, "--agent", agent,
                                   "--no-current", "--kernel-image", e.bzimage], env=e.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            made_at = None
            for n in range(600):
                if pruner.poll() is not None:
                    break
                if made_at is None and any(len(d) == 32 and d not in (key, os.path.basename(older)) and
                                           os.path.isfile(os.path.join(cache, d, "manifest.json"))
                                           for d in os.listdir(cache)):
                    made_at = n
                if made_at is not None and n - made_at >= 20:  # 2 s after its image was in place
                    break
                subprocess.run(["sleep", "0.1"])
            check(made_at is not None and pruner.poll() is None and os.path.isdir(older),
                  "prune: waits for current's lock (the old image stays while it is held)",
                  f"image made: {made_at is not None}, rc {pruner.poll()}, old image there: {os.path.isdir(older)}")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            out, err = pruner.communicate(timeout=150)
    check(pruner.returncode == 0 and not os.path.exists(older), "prune: once the lock is free, the old image is pruned",
          f"rc {pruner.returncode}, stderr: {err.strip()[-400:]!r}")


GROUPS = {"inputs": [inputs_swapped_during_the_build, tmpdir_of_another_user],
          "repair": [incomplete_images_are_built_again, incomplete_kernels_are_built_again],
          "modules": [modules_swapped_during_the_build, module_lists_decide_the_key],
          "current": [dead_switches_of_current_are_swept, a_switch_in_another_pid_namespace_is_left_alone,
                      an_incomplete_current_is_replaced_whole, an_incomplete_image_on_overlayfs_is_replaced,
                      killed_between_the_two_renames, lock_files_are_the_owners_alone,
                      take_lock_takes_only_a_number, a_prune_never_removes_what_current_names]}

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[2] not in GROUPS:
        print(__doc__)
        sys.exit(2)
    sys.exit(run(sys.argv, __file__, GROUPS[sys.argv[2]]))
