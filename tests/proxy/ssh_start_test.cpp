// The start of an SSH session, as a SOCKS5 tunnel's proxy judges it before relaying (the attacks
// of the red team that found a bare "SSH-" prefix enough, and what real clients send).
#include <gtest/gtest.h>

#include <string>

#include "proxy/ssh_start.hpp"

namespace microvm::proxy::ssh {
namespace {

using State = ClientStart::State;

// An SSH binary packet's first bytes: length 0x2c, padding 4, SSH_MSG_KEXINIT, a cookie.
const std::string kKexInit = std::string("\0\0\0\x2c\x04\x14", 6) + "0123456789abcdef";

State judge(const std::string& bytes) { return judge_client_start(bytes).state; }

TEST(SshStart, RealClientsIdentificationAndKeyExchangePass) {
    for (const char* line : {"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", "SSH-2.0-Go\r\n",
                             "SSH-2.0-libssh2_1.10.0\r\n", "SSH-2.0-paramiko_3.1.0\r\n",
                             "SSH-1.99-OpenSSH_3.9\r\n"}) {
        EXPECT_EQ(judge(line + kKexInit), State::Ssh) << line;
        EXPECT_EQ(judge(line), State::Incomplete) << line;  // held until the key exchange shows
    }
}

TEST(SshStart, PrefixesAreIncomplete) {
    const std::string whole = "SSH-2.0-OpenSSH_9.2\r\n" + kKexInit;
    for (size_t n = 0; n < 21 + 6; ++n) EXPECT_EQ(judge(whole.substr(0, n)), State::Incomplete) << n;
    EXPECT_EQ(judge(whole.substr(0, 21 + 6)), State::Ssh);
}

TEST(SshStart, OtherProtocolsDressedAsSshAreRefused) {
    for (const std::string& bytes : {
             std::string("SSH-X / HTTP/1.1\r\nHost: evil.test\r\n\r\n"),  // "SSH-X" is an HTTP method
             std::string("SSH-2.0-x /secret HTTP/1.0\r\n\r\n"),            // a request line as comments
             std::string("SSH-2.0-x\r\nGET / HTTP/1.1\r\nHost: evil.test\r\n\r\n"),  // no key exchange
             std::string("SSH-2.0-x\r\n") + std::string("\0\0\0\x2c\x04\x15", 6),    // not KEXINIT
             std::string("SSH-2.0-x\r\n") + std::string("\x7f\0\0\0\x04\x14", 6),    // absurd length
             std::string("SSH-2.0-x\r\n") + std::string("\0\0\0\x2c\x2c\x14", 6),    // padding >= length
             std::string("SSH-2.0-\r\n") + kKexInit,                                  // no software version
             std::string("SSH-2.0-a-b\r\n") + kKexInit,                               // '-' in the version
             std::string("SSH-2.0-x\x01y\r\n") + kKexInit,                            // a control byte
             std::string("SSH-2.0-x\n") + kKexInit,                                   // LF alone
             "SSH-2.0-" + std::string(300, 'a'),                                      // never ends
             std::string("SSH-3.0-x\r\n") + kKexInit,
             std::string("EHLO evil.test\r\n"),
         }) {
        const ClientStart start = judge_client_start(bytes);
        EXPECT_EQ(start.state, State::NotSsh) << bytes.substr(0, 40);
        EXPECT_FALSE(start.message.empty());
    }
}

}  // namespace
}  // namespace microvm::proxy::ssh
