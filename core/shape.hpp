#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace xg {

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& s);  ///< "[2, 3]"
int64_t numel_of(const Shape& s);       ///< product of the dimensions (1 for a 0-d shape)

}  // namespace xg
