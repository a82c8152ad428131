#include "inet.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstring>

#include "wire.h"

namespace kpt {

InetAddress ParseInetAddress(const std::string& text, const char* what) {
  InetAddress a;
  if (inet_pton(AF_INET, text.c_str(), a.bytes) == 1) {
    a.family = AF_INET;
  } else if (inet_pton(AF_INET6, text.c_str(), a.bytes) == 1) {
    a.family = AF_INET6;
  } else {
    throw InputError(std::string(what) + " is not an IP address: '" + text + "'");
  }
  return a;
}

std::string FormatInetAddress(int family, const uint8_t* bytes, size_t len) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family == AF_INET && len >= 4) return inet_ntop(AF_INET, bytes, buf, sizeof buf) ? buf : "";
  if (family == AF_INET6 && len >= 16) return inet_ntop(AF_INET6, bytes, buf, sizeof buf) ? buf : "";
  return "";
}

}  // namespace kpt
