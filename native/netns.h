// Opening sockets inside a named network namespace.
#pragma once

#include <string>

namespace kpt {

// Opens socket(domain, type, protocol) inside the network namespace /var/run/netns/<netns>, or in
// the calling thread's current namespace when `netns` is empty. Returns the file descriptor or
// throws NetlinkFailure.
int OpenSocketInNetns(const std::string& netns, int domain, int type, int protocol);

// Rejects names that are not a single path component (so a name can never point outside
// /var/run/netns). Throws NetlinkFailure(EINVAL).
void ValidateNetnsName(const std::string& netns);

}  // namespace kpt
