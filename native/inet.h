// IPv4/IPv6 addresses as they cross the JavaScript boundary (text) and the wire (bytes).
#pragma once

#include <cstdint>
#include <string>

namespace kpt {

struct InetAddress {
  int family = 0;  // AF_INET or AF_INET6
  uint8_t bytes[16] = {};
  size_t len() const { return family == 10 /* AF_INET6 */ ? 16 : 4; }
};

// Parses "10.0.0.1" or "fd00::1"; throws InputError naming `what` on anything else.
InetAddress ParseInetAddress(const std::string& text, const char* what);

// Text form of `len` (4 or 16) address bytes; "" for other lengths.
std::string FormatInetAddress(int family, const uint8_t* bytes, size_t len);

}  // namespace kpt
