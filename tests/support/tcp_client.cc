#include "tests/support/tcp_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "codec/body.h"

namespace tb::test {

TcpClient::TcpClient(uint16_t port, codec::Magic magic, int rcvbuf) : magic_(magic) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd_);
        throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

TcpClient::~TcpClient() {
    if (fd_ >= 0) ::close(fd_);
}

bool TcpClient::send_raw(std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n <= 0) {
            closed_ = true;
            return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

bool TcpClient::send(uint16_t mcmd, uint16_t scmd, std::string_view json) {
    std::string body(json);
    if (magic_ == codec::Magic::kMsgpack && !json.empty()) {
        if (codec::json_to_msgpack(json, body) != codec::BodyError::kOk) {
            throw std::invalid_argument("test body is not JSON");
        }
    }
    std::string frame;
    if (!codec::encode_frame(frame, magic_, mcmd, scmd, body)) return false;
    return send_raw(frame);
}

std::optional<codec::Frame> TcpClient::read(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        codec::Frame f;
        const auto st = decoder_.next(f);
        if (st == codec::FrameDecoder::Status::kFrame) {
            if (f.magic == codec::Magic::kMsgpack && !f.body.empty()) {
                std::string json;
                codec::msgpack_to_json(f.body, json, 1 << 20);
                f.body = json;
            }
            return f;
        }
        if (st == codec::FrameDecoder::Status::kError || closed_) return std::nullopt;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return std::nullopt;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        char buf[16384];
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) {
            closed_ = true;
            return std::nullopt;
        }
        decoder_.feed({buf, static_cast<std::size_t>(n)});
    }
}

std::optional<codec::Frame> TcpClient::read_until(uint16_t mcmd, uint16_t scmd,
                                                  std::chrono::milliseconds timeout, bool echo) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return std::nullopt;
        auto f = read(left);
        if (!f) return std::nullopt;
        if (f->mcmd == mcmd && f->scmd == scmd) return f;
        if (echo && f->is_keep_alive()) send(0, 0);
    }
}

bool TcpClient::wait_closed(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!closed_) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        if (!read(left) && decoder_.error() != codec::FrameError::kOk) return true;
    }
    return true;
}

int64_t json_int(const std::string& json, const std::string& key) {
    const auto v = nlohmann::json::parse(json, nullptr, false);
    if (!v.is_object() || !v.contains(key) || !v[key].is_number_integer()) return 0;
    return v[key].get<int64_t>();
}

}  // namespace tb::test
