#pragma once
// The consumer project's own data/loader.hpp, on its include path ahead of xgrad's: xgrad's
// headers must not pick it up instead of their own (they include <xgrad/data/loader.hpp>).
namespace consumer {
struct CsvLoader {
  int rows = 0;
};
}  // namespace consumer
