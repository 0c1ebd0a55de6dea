#pragma once
// Small SVG charts: a line chart (BLEU by length, training curves) and an attention heat map.
#include <string>
#include <vector>

namespace xg::translation {

struct Series {
  std::string name;
  std::vector<double> x, y;
  std::vector<double> band_lo, band_hi;  // optional, one per point: a shaded band (an interval, a spread)
};

// A shaded stretch of the x axis behind the lines, labelled at its top (e.g. the lengths seen in
// training); none when to <= from.
struct Shade {
  double from = 0, to = -1;
  std::string label;
};

// x_labels, when given, label the integer x positions 0..n-1 (categorical axis). log_y: a
// logarithmic y axis (positive values; ticks at powers of 10, y_min/y_max ignored).
std::string line_chart_svg(const std::string& title, const std::string& x_label, const std::string& y_label,
                           const std::vector<Series>& series, const std::vector<std::string>& x_labels = {},
                           double y_min = 0, double y_max = -1, bool log_y = false, const Shade& shade = {});

// weights[t][s]: target token t's attention over source token s.
std::string heatmap_svg(const std::string& title, const std::vector<std::string>& source,
                        const std::vector<std::string>& target, const std::vector<std::vector<double>>& weights);

void write_text_file(const std::string& path, const std::string& content);

}  // namespace xg::translation
