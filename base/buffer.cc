// Buffer: compaction happens only when the consumed prefix is at least half the storage, so
// each byte is moved at most once on average.
#include "base/buffer.h"

#include "base/assert.h"

namespace mta {

void Buffer::append(std::string_view bytes) {
  MTA_ASSERT(prepared_ == 0);
  compact();
  data_.append(bytes);
}

void Buffer::consume(std::size_t byte_count) {
  MTA_ASSERT(byte_count <= size());
  read_ += byte_count;
  if (read_ == data_.size()) {
    data_.clear();
    read_ = 0;
  }
}

void Buffer::clear() {
  MTA_ASSERT(prepared_ == 0);
  data_.clear();
  read_ = 0;
}

std::span<char> Buffer::prepare(std::size_t byte_count) {
  MTA_ASSERT(prepared_ == 0);
  compact();
  const std::size_t used = data_.size();
  data_.resize(used + byte_count);
  prepared_ = byte_count;
  return {data_.data() + used, byte_count};
}

void Buffer::commit(std::size_t byte_count) {
  MTA_ASSERT(byte_count <= prepared_);
  data_.resize(data_.size() - prepared_ + byte_count);
  prepared_ = 0;
}

void Buffer::compact() {
  if (read_ > 0 && read_ * 2 >= data_.size()) {
    data_.erase(0, read_);
    read_ = 0;
  }
}

}  // namespace mta
