// Buffer: a growable byte queue. Producers append at the back (or recv straight into
// prepare()/commit()); consumers read readable() and consume() from the front. Consumed space
// is reclaimed lazily, so steady-state use does not allocate.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace mta {

class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(std::string_view initial) : data_(initial) {}

  std::string_view readable() const { return std::string_view(data_).substr(read_); }
  std::size_t size() const { return data_.size() - read_; }
  bool empty() const { return size() == 0; }

  void append(std::string_view bytes);
  void consume(std::size_t byte_count);
  void clear();

  // Space for at least `byte_count` bytes at the back; commit(n) makes n of them readable.
  std::span<char> prepare(std::size_t byte_count);
  void commit(std::size_t byte_count);

 private:
  void compact();

  std::string data_;
  std::size_t read_ = 0;
  std::size_t prepared_ = 0;
};

}  // namespace mta
