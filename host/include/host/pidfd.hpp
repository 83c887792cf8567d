// Whether a process watched through its pidfd has exited, without waiting: a sandbox built ahead
// is usable only while the process that holds it (an init, runsc run) still runs.
#pragma once

namespace microvm::host {

// True once the process exited (its pidfd is readable), also when the pidfd cannot be polled
// (an unusable pidfd never says "still running"). Never blocks; the process is not reaped.
bool process_exited(int pidfd);

}  // namespace microvm::host
