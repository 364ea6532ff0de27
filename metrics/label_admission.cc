// LabelAdmission: the first-seen admission table of bounded labels (see label_admission.h for
// the policy and its threading).
#include "metrics/label_admission.h"

#include <bit>
#include <functional>

#include "base/assert.h"
#include "metrics/utf8.h"

namespace mta::metrics {

LabelAdmission::LabelAdmission(std::size_t values_max, std::string overflow_value)
    : values_max_(values_max),
      overflow_value_(std::move(overflow_value)),
      values_(std::make_unique<std::string[]>(values_max)),
      // At least twice as many slots as values keeps the load factor at or under one half, so
      // a probe sequence stays short and always ends at an empty slot.
      slots_(std::make_unique<std::atomic<std::uint32_t>[]>(std::bit_ceil(values_max * 2 + 2))),
      slot_mask_(std::bit_ceil(values_max * 2 + 2) - 1) {
  MTA_ASSERT(values_max > 0);
  MTA_ASSERT(values_max < UINT32_MAX / 4);
}

std::string_view LabelAdmission::value(std::size_t index) const {
  MTA_ASSERT(index < size());
  return values_[index];
}

std::uint32_t LabelAdmission::index_of(std::string_view value) {
  const auto overflow = static_cast<std::uint32_t>(values_max_);
  if (value.empty() || value.size() > value_bytes_max || value == overflow_value_) {
    return overflow;
  }
  const std::size_t hash = std::hash<std::string_view>{}(value);
  if (std::uint32_t index = find(value, hash); index != overflow) return index;
  // Full: nothing can be admitted any more, so a miss is final without taking the lock.
  if (size_.load(std::memory_order_acquire) == values_max_) return overflow;
  if (!valid_utf8(value)) return overflow;
  return admit(value, hash);
}

std::uint32_t LabelAdmission::find(std::string_view value, std::size_t hash) const {
  for (std::size_t slot = hash & slot_mask_;; slot = (slot + 1) & slot_mask_) {
    const std::uint32_t entry = slots_[slot].load(std::memory_order_acquire);
    if (entry == 0) return static_cast<std::uint32_t>(values_max_);
    if (values_[entry - 1] == value) return entry - 1;
  }
}

std::uint32_t LabelAdmission::admit(std::string_view value, std::size_t hash) {
  std::lock_guard lock(admit_mutex_);
  // Another shard may have admitted it, or filled the table, while this one waited.
  if (std::uint32_t index = find(value, hash); index != values_max_) return index;
  const std::size_t index = size_.load(std::memory_order_relaxed);
  if (index == values_max_) return static_cast<std::uint32_t>(values_max_);
  values_[index] = std::string(value);
  // Publish the string before the index that refers to it: both size_ (read by the scraper)
  // and the slot (read by lookups) are stored with release after the string is written.
  size_.store(index + 1, std::memory_order_release);
  std::size_t slot = hash & slot_mask_;
  while (slots_[slot].load(std::memory_order_relaxed) != 0) slot = (slot + 1) & slot_mask_;
  slots_[slot].store(static_cast<std::uint32_t>(index + 1), std::memory_order_release);
  return static_cast<std::uint32_t>(index);
}

}  // namespace mta::metrics
