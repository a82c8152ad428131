#pragma once

#include <napi.h>

#include "value.h"

namespace kpt {

// Adds conntrackList and conntrackDelete to the module exports.
void RegisterConntrack(Napi::Env env, Napi::Object exports);

// Parses conntrack dump replies without a socket (fuzz test).
Value ParseConntrackReplies(const uint8_t* data, size_t len);

}  // namespace kpt
