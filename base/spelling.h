// "Did you mean ...?": the candidate closest to a word that matched none of them, for error
// messages about names an operator typed (configuration keys and sections). Pure functions; the
// candidates are few (the keys one section knows), so the quadratic distance is cheap.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mta {

// Optimal string alignment distance between `a` and `b`, ASCII case folded: the fewest
// insertions, deletions, substitutions and swaps of two adjacent characters that turn one into
// the other, no substring edited twice. "levle" -> "level" is 1 (one swap).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`, when it is close enough to be a likely typo: at most a third
// of the longer word's characters edited (at least one edit allowed). Ties go to the first
// candidate. nullopt when nothing is that close, or `word` is itself a candidate.
std::optional<std::string> closest_spelling(std::string_view word,
                                            const std::vector<std::string>& candidates);

}  // namespace mta
