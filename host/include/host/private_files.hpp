// Files of this process that no program it runs may reach, whatever a policy grants: a daemon's
// tokens, settings, TLS key, audit log and state directory (microvmd keeps them so). A sandbox
// with a user of its own is kept out of them by their owner and mode; a provider whose program
// reaches files as this process (wasm's file layer) asks here before it hands one over: under
// fs "full", or the default read-only directories (/etc, where the tokens are advised to lie),
// a wasm program read every client's token (red team and review, 2026-12-06).
#pragma once

#include <string>
#include <vector>

namespace microvm::host {

// Keeps path private from then on, by its real path (a path that does not exist yet: the real
// path it will have; PATH.N, a rotated file, counts as PATH) and by the identity of what is
// there at each check.
void keep_private(const std::string& path);

// What keep_private was given, as real paths: for a program this process runs that reaches files
// as this process does (the wasm engine's), which keeps each private in itself too.
std::vector<std::string> kept_private_paths();

// True when path (a real path) is own, lies inside it, or is one of its rotated files own.N: the
// one rule for what a kept path covers (microvmd's policy check judges request paths by it too).
bool covered_by(const std::string& path, const std::string& own);

// True when the object fd names is one of them (by identity: another hard link counts) or lies
// inside one, and the directory `from` (where the access started) does not lie inside that one:
// a directory inside one was granted as such (a session's work directory in the daemon's state
// directory). False at once when nothing is kept private.
bool reaches_private(int fd, int from);

// The same for a file a provider binds for a program (host/program_files.hpp: the program, its
// "#!" interpreters, its ELF interpreter and libraries), which it binds as this process's user,
// past every owner and mode: true when real_path is kept private (or lies inside a kept path,
// by real path or by identity) and no path of granted that lies inside that kept path holds it
// (a session's own work directory, which the daemon grants its own runs). A client named a file
// in another client's session work directory as its program, and read it (red team,
// 2026-12-07).
bool binds_private(const std::string& real_path, const std::vector<std::string>& granted);

// The same for the entry `name` of the directory parent, by its path alone (it need not exist):
// asked before an entry is made, truncated, renamed or removed.
bool names_private(int parent, const std::string& name, int from);

}  // namespace microvm::host
