// The start of an SSH session as a client sends it, judged before a SOCKS5 tunnel relays
// anything that is no TLS: SSH names no host the proxy could check, so the proxy makes sure the
// bytes are SSH and not another protocol in disguise. "SSH-X / HTTP/1.1" is a valid HTTP request
// line (a method may hold '-'), so a prefix alone would let plain HTTP with any Host through to a
// server that routes by name; an identification line followed by the binary packet that opens
// the key exchange is no other protocol's start.
#pragma once

#include <string>
#include <string_view>

namespace microvm::proxy::ssh {

struct ClientStart {
    enum class State { Incomplete, Ssh, NotSsh };
    State state = State::Incomplete;
    std::string message;  // NotSsh: why
};

// bytes: all the client sent so far. Ssh when they begin with an identification line (RFC 4253
// 4.2: "SSH-2.0-" or "SSH-1.99-", a software version of printable ASCII without spaces or '-',
// optional comments after one space, printable ASCII, "\r\n", 255 bytes at most, no " HTTP/")
// followed by the header of a binary packet carrying SSH_MSG_KEXINIT (a length of 22 to 256 KiB,
// a padding length of 4 or more below it, message number 20). Incomplete while a prefix of that.
ClientStart judge_client_start(std::string_view bytes);

}  // namespace microvm::proxy::ssh
