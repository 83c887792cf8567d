#!/usr/bin/env python3
"""Writes an initramfs (cpio "newc", the format the kernel unpacks) from a list, to stdout.

The list has the kernel's gen_init_cpio syntax, one entry a line, in the order to write:
    dir   NAME MODE UID GID
    file  NAME SOURCE MODE UID GID
    slink NAME TARGET MODE UID GID
    nod   NAME MODE UID GID c|b MAJOR MINOR
Why not GNU cpio: it copies a tree from disk, so /dev/console would need mknod (root) and the
archive would carry the disk's mtimes, owners and inode numbers. Here every mtime is 0, every
inode number is the entry's position and nothing is read from disk but the files' bytes, so the
archive depends only on the list and the files' contents (the image's cache key means something).
"""
import stat
import sys

TYPES = {"dir": stat.S_IFDIR, "file": stat.S_IFREG, "slink": stat.S_IFLNK, "nod": 0}


def entry(out, ino, name, mode, uid, gid, data=b"", nlink=1, rdev=(0, 0)):
    name_bytes = name.lstrip("/").encode() + b"\0"
    fields = [ino, mode, uid, gid, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_bytes), 0]
    out.write(b"070701" + b"".join(b"%08X" % f for f in fields))
    out.write(name_bytes + b"\0" * (-(110 + len(name_bytes)) % 4))  # header is 110 bytes
    out.write(data + b"\0" * (-len(data) % 4))


def main(list_path):
    out = sys.stdout.buffer
    ino = 0
    with open(list_path) as f:
        for number, line in enumerate(f, 1):
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            kind, name = words[0], words[1]
            if kind not in TYPES:
                sys.exit(f"mkcpio: {list_path}:{number}: unknown entry '{kind}'")
            ino += 1
            if kind == "dir":
                mode, uid, gid = words[2:5]
                entry(out, ino, name, stat.S_IFDIR | int(mode, 8), int(uid), int(gid), nlink=2)
            elif kind == "file":
                source, mode, uid, gid = words[2:6]
                with open(source, "rb") as src:
                    data = src.read()
                entry(out, ino, name, stat.S_IFREG | int(mode, 8), int(uid), int(gid), data)
            elif kind == "slink":
                target, mode, uid, gid = words[2:6]
                entry(out, ino, name, stat.S_IFLNK | int(mode, 8), int(uid), int(gid),
                      target.encode())
            else:  # nod
                mode, uid, gid, dev_type, major, minor = words[2:8]
                kind_bits = stat.S_IFCHR if dev_type == "c" else stat.S_IFBLK
                entry(out, ino, name, kind_bits | int(mode, 8), int(uid), int(gid),
                      rdev=(int(major), int(minor)))
    entry(out, 0, "TRAILER!!!", 0, 0, 0, nlink=1)
    out.flush()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: mkcpio.py LIST > archive.cpio")
    main(sys.argv[1])
