// Generic netlink: resolving a family name to its (dynamic) numeric id.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "nl_socket.h"

namespace kpt {

struct GenlFamily {
  uint16_t id = 0;
  uint32_t version = 0;
};

// CTRL_CMD_GETFAMILY for `name` on a NETLINK_GENERIC socket; nullopt when the kernel does not
// know the family (ENOENT: e.g. the ip_vs module is not loaded). `seq` is consumed.
std::optional<GenlFamily> ResolveGenlFamily(NetlinkSocket& sock, const std::string& name, uint32_t seq);

}  // namespace kpt
