#pragma once

#include <napi.h>

#include <string>

#include "value.h"

namespace kpt {

// Adds rtnlLinkAdd/Delete/SetUp/List and rtnlAddrApply/List to the module exports.
void RegisterRtnetlink(Napi::Env env, Napi::Object exports);

// Parses link ("links") or address ("addresses") dump replies without a socket (fuzz test).
Value ParseRtnlReplies(const std::string& kind, const uint8_t* data, size_t len);

}  // namespace kpt
