// The compact binary form in which src/kernel/nftables-wire.ts hands a compiled transaction to
// the addon.
//
// Why not read the JavaScript objects directly: a kube-proxy ruleset has hundreds of thousands
// of small objects, and every N-API property read costs ~100 ns plus handle and GC churn, which
// made reading the objects slower than the kernel's own work. JavaScript writes these bytes at
// JIT speed instead, and this reader walks them with plain bounds-checked pointer arithmetic.
//
// Layout (little endian): "KPW1", then one value, the array of operations.
//   value  := u8 type, payload
//   U32 / I32: 4 bytes, U64: 8 bytes, BOOL: 1 byte
//   STR / BYTES: u32 length, bytes          RECORD: u32 length, fields
//   ARRAY: u32 count, u32 length, values    field := u8 field id, value
// Field ids are the positions in kFieldNames (wire.cc) and FIELD_NAMES (nftables-wire.ts).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace kpt {

// Invalid input from JavaScript: reported as a TypeError naming the operation and field.
class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& what) : std::runtime_error(what) {}
};

enum class Field : uint8_t {
  op, kind, family, name, table, chain, set, setId, flags, userdata, hook, hooknum, priority, type, policy, exprs,
  handle, keyType, keyLen, dataType, dataLen, id, timeoutMs, gcIntervalMs, size, fieldLens, elements, key, keyEnd,
  data, verdict, code, dreg, sreg, base, offset, len, mask, xor_, from, to, regAddrMin, regAddrMax, regProtoMin,
  regProtoMax, modulus, direction, bytes, packets, sregKey, sregData, result, create, position, count_
};
constexpr size_t kFieldCount = static_cast<size_t>(Field::count_);

const char* FieldName(Field f);
// Comma-separated field names in id order, so that netlink.ts can check it agrees.
std::string FieldNameList();

enum class WireType : uint8_t { U32 = 1, I32 = 2, U64 = 3, Bool = 4, Str = 5, Bytes = 6, Record = 7, Array = 8 };

struct WireValue {
  WireType type = WireType::U32;
  const uint8_t* data = nullptr;  // payload (after any length prefix)
  size_t len = 0;                 // payload length in bytes
  uint32_t count = 0;             // ARRAY: number of items
};

class WireRecord;

// The items of an ARRAY value.
class WireArray {
 public:
  WireArray() = default;
  WireArray(const uint8_t* data, size_t len, uint32_t count) : p_(data), end_(data + len), count_(count) {}
  uint32_t size() const { return count_; }
  // Reads the next item; false at the end. Throws InputError on malformed input.
  bool Next(WireValue& out);

 private:
  const uint8_t* p_ = nullptr;
  const uint8_t* end_ = nullptr;
  uint32_t count_ = 0;
  uint32_t seen_ = 0;
};

// One RECORD: its fields indexed by id.
class WireRecord {
 public:
  WireRecord(const uint8_t* data, size_t len);
  explicit WireRecord(const WireValue& v);

  bool Has(Field f) const { return present_[static_cast<size_t>(f)]; }

  uint32_t U32(Field f) const;
  std::optional<uint32_t> OptU32(Field f) const;
  int32_t I32(Field f) const;  // an I32, or a U32 that fits
  uint32_t Bits32(Field f) const;  // the 32 bits of a U32 or an I32 (for signed netlink values)
  std::optional<uint64_t> OptU64(Field f) const;  // a U64, or a U32
  bool OptBool(Field f) const;
  std::string Str(Field f) const;
  std::optional<std::string> OptStr(Field f) const;
  std::pair<const uint8_t*, size_t> Bytes(Field f) const;
  std::optional<std::pair<const uint8_t*, size_t>> OptBytes(Field f) const;
  WireRecord Record(Field f) const;
  std::optional<WireRecord> OptRecord(Field f) const;
  WireArray Array(Field f) const;
  std::optional<WireArray> OptArray(Field f) const;

  // Reads one value at p (bounded by end), returning the position after it.
  static const uint8_t* ReadValue(const uint8_t* p, const uint8_t* end, WireValue& out);
  static uint32_t ValueU32(const WireValue& v, Field f);

 private:
  const WireValue& Require(Field f, WireType type) const;
  WireValue values_[kFieldCount];
  bool present_[kFieldCount] = {};
};

// The operations array of a buffer produced by nftables-wire.ts (checks the magic).
WireArray WireOperations(const uint8_t* data, size_t len);

}  // namespace kpt
