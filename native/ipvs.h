#pragma once

#include <napi.h>

#include <string>

#include "value.h"

namespace kpt {

// Adds ipvsProbe, ipvsApply, ipvsListServices, ipvsListDestinations, ipvsGetTimeouts and
// testEncodeIpvs to the module exports.
void RegisterIpvs(Napi::Env env, Napi::Object exports);

// Parses IPVS replies ("services", "destinations", "config") without a socket (fuzz test).
Value ParseIpvsReplies(const std::string& kind, const uint8_t* data, size_t len);

}  // namespace kpt
