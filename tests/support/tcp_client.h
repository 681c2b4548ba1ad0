#pragma once
// A blocking game client for tests: connects to a proxy over TCP, sends frames (JSON or
// msgpack, or raw bytes), and reads frames with a deadline. Closed connections are reported,
// never thrown, so a test can assert "the proxy closed it".

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "codec/frame.h"

namespace tb::test {

class TcpClient {
public:
    // Connects to 127.0.0.1:`port`; throws std::runtime_error when it cannot. `rcvbuf` > 0
    // shrinks the receive buffer (for slow-reader tests).
    explicit TcpClient(uint16_t port, codec::Magic magic = codec::Magic::kJson, int rcvbuf = 0);
    ~TcpClient();
    TcpClient(const TcpClient&) = delete;
    TcpClient& operator=(const TcpClient&) = delete;

    // A frame with a JSON body (converted to msgpack for a msgpack client). False once closed.
    bool send(uint16_t mcmd, uint16_t scmd, std::string_view json = {});
    bool send_raw(std::string_view bytes);

    // The next frame (keep-alive probes included), or nullopt when the deadline passes or the
    // connection closes (see closed()). Bodies of msgpack frames are converted to JSON.
    std::optional<codec::Frame> read(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // Reads until a frame of (mcmd, scmd) arrives, answering probes if `echo` is set.
    std::optional<codec::Frame> read_until(
        uint16_t mcmd, uint16_t scmd, std::chrono::milliseconds timeout = std::chrono::seconds(5),
        bool echo = true);
    // Waits until the server closes the connection (reading and dropping what comes).
    bool wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    bool closed() const noexcept { return closed_; }
    int fd() const noexcept { return fd_; }

private:
    int fd_ = -1;
    codec::Magic magic_;
    codec::FrameDecoder decoder_;
    bool closed_ = false;
};

// The integer value of `key` in a flat JSON body (0 when absent).
int64_t json_int(const std::string& json, const std::string& key);

}  // namespace tb::test
