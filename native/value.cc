#include "value.h"

#include <cstring>

namespace kpt {

Napi::Value Value::ToJs(Napi::Env env) const {
  switch (kind_) {
    case Kind::Undefined:
      return env.Undefined();
    case Kind::Null:
      return env.Null();
    case Kind::Bool:
      return Napi::Boolean::New(env, num_ != 0);
    case Kind::Number:
      return Napi::Number::New(env, num_);
    case Kind::BigInt:
      return Napi::BigInt::New(env, big_);
    case Kind::String:
      return Napi::String::New(env, str_);
    case Kind::Bytes: {
      auto out = Napi::Uint8Array::New(env, bytes_.size());
      if (!bytes_.empty()) std::memcpy(out.Data(), bytes_.data(), bytes_.size());
      return out;
    }
    case Kind::Array: {
      auto out = Napi::Array::New(env, items_.size());
      for (uint32_t i = 0; i < items_.size(); i++) out.Set(i, items_[i].ToJs(env));
      return out;
    }
    case Kind::Object: {
      auto out = Napi::Object::New(env);
      for (const auto& [key, value] : fields_) out.Set(key, value.ToJs(env));
      return out;
    }
  }
  return env.Undefined();
}

}  // namespace kpt
