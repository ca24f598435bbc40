// A small JSON writer for what the binary prints for programs (info, list
// --json): strings escaped, commas placed, numbers that JSON can hold.
#pragma once

#include <charconv>
#include <cmath>
#include <concepts>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace parbench {

/// A JSON string literal: quotes, backslashes and control characters escaped
/// (a compiler flag or an error reason may hold any of them).
inline std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char ch : text) {
    const auto byte = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (byte < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
      out += escaped;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

/// Writes one JSON value into a string. Each key and value goes in through its
/// own call (distinct names: a const char* must not turn into a boolean).
class JsonWriter {
 public:
  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }
  JsonWriter& key(std::string_view name) {
    separate();
    out_ += json_string(name) + ": ";
    after_key_ = true;
    return *this;
  }
  JsonWriter& string(std::string_view text) { return raw(json_string(text)); }
  JsonWriter& boolean(bool value) { return raw(value ? "true" : "false"); }
  template <std::integral Integer>
  JsonWriter& integer(Integer value) {
    return raw(std::to_string(value));
  }
  /// The shortest text that reads back as value; NaN and infinities (no JSON form) as null.
  JsonWriter& number(double value) {
    if (!std::isfinite(value)) return raw("null");
    char text[32];
    const auto result = std::to_chars(text, text + sizeof text, value);
    return raw(std::string_view(text, result.ptr - text));
  }
  template <class Range>
  JsonWriter& strings(const Range& values) {
    begin_array();
    for (const auto& value : values) string(value);
    return end_array();
  }
  template <class Range>
  JsonWriter& integers(const Range& values) {
    begin_array();
    for (const auto value : values) integer(value);
    return end_array();
  }
  const std::string& text() const { return out_; }

 private:
  JsonWriter& open(char bracket) {
    separate();
    out_ += bracket;
    first_.push_back(true);
    return *this;
  }
  JsonWriter& close(char bracket) {
    first_.pop_back();
    out_ += bracket;
    return *this;
  }
  JsonWriter& raw(std::string_view text) {
    separate();
    out_ += text;
    return *this;
  }
  // A comma before every member but the first of its object or array; none
  // between a key and its value.
  void separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.empty() && !first_.back()) out_ += ", ";
    if (!first_.empty()) first_.back() = false;
  }

  std::string out_;
  std::vector<bool> first_;  // per open object or array: nothing written in it yet
  bool after_key_ = false;
};

}  // namespace parbench
