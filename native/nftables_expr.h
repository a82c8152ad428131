// nf_tables expressions: encoding from the low-level expression objects produced by the
// TypeScript compiler (src/kernel/nftables-ir.ts) and decoding of listed rules into the same shape.
#pragma once

#include <napi.h>

#include "wire.h"
#include "nl_message.h"
#include "value.h"

namespace kpt {

// Appends one NFTA_LIST_ELEM { NFTA_EXPR_NAME, NFTA_EXPR_DATA } for the expression object `expr`.
void EncodeNftExpr(const WireRecord& expr, MessageWriter& w);

// Appends an nft_data nest (NFTA_DATA_VALUE bytes) under attribute `type`.
void PutNftDataValue(MessageWriter& w, uint16_t type, const uint8_t* data, size_t len);
// Appends an nft_data nest holding a verdict (code, optional chain name).
void PutNftVerdict(MessageWriter& w, uint16_t type, int32_t code, const std::string* chain);

// Decodes one NFTA_LIST_ELEM of NFTA_RULE_EXPRESSIONS.
Value DecodeNftExpr(const Attr& list_elem);

// Decodes an nft_data nest into {data: bytes} or {verdict: {code, chain?}} fields of `out`.
void DecodeNftData(const Attr& nest, Value& out, const char* bytes_field);

}  // namespace kpt
