#pragma once

#include <napi.h>

namespace kpt {

// testParseReplies(kind, bytes): runs one of the reply parsers on arbitrary bytes, synchronously.
// Only the fuzz test uses it; it never opens a socket.
void RegisterTestParse(Napi::Env env, Napi::Object exports);

}  // namespace kpt
