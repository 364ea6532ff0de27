// concat: joins string pieces in one allocation. Used instead of chains of operator+ on a
// literal and a temporary std::string, which g++ 12 at -O3 misreads as an overlapping memcpy
// (-Wrestrict, a false positive that -Werror turns into a build failure).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace mta {

inline std::string concat(std::initializer_list<std::string_view> pieces) {
  std::size_t size = 0;
  for (std::string_view piece : pieces) size += piece.size();
  std::string out;
  out.reserve(size);
  for (std::string_view piece : pieces) out.append(piece);
  return out;
}

}  // namespace mta
