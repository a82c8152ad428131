#pragma once

#include <napi.h>

#include <string>

#include "value.h"

namespace kpt {

// Adds nftEncodeBatch, nftSendBatch, nftList and testNftDumpRaw to the module exports.
void RegisterNftables(Napi::Env env, Napi::Object exports);

// Parses a buffer of nf_tables dump replies ("tables", "chains", "sets", "elements", "rules")
// without a socket: the entry point of the parser fuzz test. Throws ParseError on bad input.
Value ParseNftReplies(const std::string& kind, const uint8_t* data, size_t len);

}  // namespace kpt
