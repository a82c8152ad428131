#include "async.h"

#include <cerrno>
#include <cmath>
#include <cstring>

#include "nl_message.h"

namespace kpt {

NetlinkFailure SystemFailure(int err, const std::string& what) {
  return NetlinkFailure(err, what + ": " + std::strerror(err));
}

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name ? name : "E" + std::to_string(err);
}

void PromiseWorker::Execute() {
  try {
    result_ = work_();
  } catch (const NetlinkFailure& failure) {
    failure_ = failure;
    SetError(failure.what());
  } catch (const ParseError& error) {
    failure_ = NetlinkFailure(EPROTO, error.what());
    parse_error_ = true;
    SetError(error.what());
  } catch (const std::bad_alloc&) {
    failure_ = NetlinkFailure(ENOMEM, "out of memory");
    SetError("out of memory");
  } catch (const std::exception& error) {
    failure_ = NetlinkFailure(EINVAL, error.what());
    SetError(error.what());
  }
}

void PromiseWorker::OnOK() {
  Napi::HandleScope scope(Env());
  try {
    deferred_.Resolve(result_.ToJs(Env()));
  } catch (const Napi::Error& error) {
    deferred_.Reject(error.Value());
  }
}

void PromiseWorker::OnError(const Napi::Error& error) {
  Napi::HandleScope scope(Env());
  if (!failure_) {
    deferred_.Reject(error.Value());
    return;
  }
  Napi::Error js = MakeJsError(Env(), *failure_);
  if (parse_error_) js.Set("malformedReply", Napi::Boolean::New(Env(), true));
  deferred_.Reject(js.Value());
}

Napi::Error MakeJsError(Napi::Env env, const NetlinkFailure& failure) {
  Napi::Error js = Napi::Error::New(env, failure.what());
  js.Set("errno", Napi::Number::New(env, failure.err()));
  js.Set("code", Napi::String::New(env, ErrnoName(failure.err())));
  if (!failure.extack_message.empty()) js.Set("extackMessage", Napi::String::New(env, failure.extack_message));
  if (failure.extack_offset >= 0) js.Set("extackOffset", Napi::Number::New(env, double(failure.extack_offset)));
  if (failure.op_index >= 0) js.Set("opIndex", Napi::Number::New(env, double(failure.op_index)));
  if (failure.message_seq >= 0) js.Set("messageSeq", Napi::Number::New(env, double(failure.message_seq)));
  return js;
}

namespace {

[[noreturn]] void ThrowType(const Napi::Env& env, const std::string& message) {
  throw Napi::TypeError::New(env, message);
}

Napi::Value Prop(const Napi::Object& obj, const char* key) { return obj.Get(key); }

}  // namespace

std::string NetnsArg(const Napi::Value& options) {
  if (options.IsUndefined() || options.IsNull()) return "";
  if (!options.IsObject()) ThrowType(options.Env(), "options must be an object");
  auto netns = options.As<Napi::Object>().Get("netns");
  if (netns.IsUndefined() || netns.IsNull()) return "";
  if (!netns.IsString()) ThrowType(options.Env(), "options.netns must be a string");
  std::string name = netns.As<Napi::String>().Utf8Value();
  if (name.empty()) ThrowType(options.Env(), "options.netns must not be empty");
  return name;
}

Napi::Object ObjectArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  if (info.Length() <= index || !info[index].IsObject()) ThrowType(info.Env(), std::string(what) + " must be an object");
  return info[index].As<Napi::Object>();
}

std::optional<std::string> OptStringProp(const Napi::Object& obj, const char* key) {
  auto v = Prop(obj, key);
  if (v.IsUndefined() || v.IsNull()) return std::nullopt;
  if (!v.IsString()) ThrowType(obj.Env(), std::string(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

std::string StringProp(const Napi::Object& obj, const char* key) {
  auto v = OptStringProp(obj, key);
  if (!v) ThrowType(obj.Env(), std::string(key) + " is required");
  return *v;
}

std::optional<uint32_t> OptU32Prop(const Napi::Object& obj, const char* key) {
  auto v = Prop(obj, key);
  if (v.IsUndefined() || v.IsNull()) return std::nullopt;
  if (!v.IsNumber()) ThrowType(obj.Env(), std::string(key) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || std::floor(d) != d) {
    ThrowType(obj.Env(), std::string(key) + " must be an integer in 0..2^32-1");
  }
  return static_cast<uint32_t>(d);
}

uint32_t U32Prop(const Napi::Object& obj, const char* key) {
  auto v = OptU32Prop(obj, key);
  if (!v) ThrowType(obj.Env(), std::string(key) + " is required");
  return *v;
}

int32_t I32Prop(const Napi::Object& obj, const char* key) {
  auto v = Prop(obj, key);
  if (!v.IsNumber()) ThrowType(obj.Env(), std::string(key) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= -2147483648.0 && d <= 2147483647.0) || std::floor(d) != d) {
    ThrowType(obj.Env(), std::string(key) + " must be a 32-bit integer");
  }
  return static_cast<int32_t>(d);
}

std::optional<uint64_t> OptU64Prop(const Napi::Object& obj, const char* key) {
  auto v = Prop(obj, key);
  if (v.IsUndefined() || v.IsNull()) return std::nullopt;
  if (v.IsBigInt()) {
    bool lossless = false;
    uint64_t n = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) ThrowType(obj.Env(), std::string(key) + " must fit in 64 bits");
    return n;
  }
  if (!v.IsNumber()) ThrowType(obj.Env(), std::string(key) + " must be a number or bigint");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 9007199254740991.0) || std::floor(d) != d) {
    ThrowType(obj.Env(), std::string(key) + " must be a non-negative integer");
  }
  return static_cast<uint64_t>(d);
}

bool OptBoolProp(const Napi::Object& obj, const char* key, bool fallback) {
  auto v = Prop(obj, key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsBoolean()) ThrowType(obj.Env(), std::string(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::optional<std::vector<uint8_t>> OptBytesProp(const Napi::Object& obj, const char* key) {
  auto v = Prop(obj, key);
  if (v.IsUndefined() || v.IsNull()) return std::nullopt;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    ThrowType(obj.Env(), std::string(key) + " must be a Uint8Array");
  }
  auto arr = v.As<Napi::Uint8Array>();
  return std::vector<uint8_t>(arr.Data(), arr.Data() + arr.ByteLength());
}

std::vector<uint8_t> BytesProp(const Napi::Object& obj, const char* key) {
  auto v = OptBytesProp(obj, key);
  if (!v) ThrowType(obj.Env(), std::string(key) + " is required");
  return *v;
}

}  // namespace kpt
