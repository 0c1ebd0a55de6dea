#include "plot.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include <xgrad/core/atomic_file.hpp>

namespace xg::translation {

namespace {
const char* const kColors[] = {"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd",
                               "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

double nice_step(double range) {
  const double raw = range / 5;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * mag >= raw) return m * mag;
  return 10 * mag;
}
}  // namespace

std::string line_chart_svg(const std::string& title, const std::string& x_label, const std::string& y_label,
                           const std::vector<Series>& given, const std::vector<std::string>& x_labels, double y_min,
                           double y_max, bool log_y, const Shade& shade) {
  std::vector<Series> series = given;
  if (log_y) {  // plot log10(y); ticks are labelled with y itself
    for (auto& s : series)
      for (auto& y : s.y) y = std::log10(std::max(y, 1e-300));
    y_min = 0, y_max = -1;
  }
  const double W = 720, H = 440, L = 70, R = 170, T = 50, B = 60;
  double x0 = 1e300, x1 = -1e300, y1 = y_max;
  double ylo = y_min;
  if (log_y) ylo = 1e300, y1 = -1e300;
  for (const auto& s : series)
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
      if (y_max < y_min) y1 = std::max(y1, s.y[i]);
      if (y_max < y_min) ylo = std::min(ylo, s.y[i]);
    }
  if (!x_labels.empty()) x0 = 0, x1 = static_cast<double>(x_labels.size() - 1);
  if (x1 <= x0) x1 = x0 + 1;
  if (y1 <= ylo) y1 = ylo + 1;
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double y) { return T + (1 - (y - ylo) / (y1 - ylo)) * (H - T - B); };
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{}\" y=\"28\" font-size=\"16\" text-anchor=\"middle\">{}</text>\n",
      W, H, (L + W - R) / 2, escape(title));
  if (shade.to > shade.from) {
    const double a = std::clamp(px(shade.from), L, W - R), b = std::clamp(px(shade.to), L, W - R);
    svg += fmt::format("<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"#888\" fill-opacity=\"0.12\"/>"
                       "<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\" fill=\"#555\">{}</text>\n",
                       a, T, b - a, H - T - B, (a + b) / 2, T + 14, escape(shade.label));
  }
  if (log_y) ylo = std::floor(ylo), y1 = std::ceil(y1);
  const double step = log_y ? 1.0 : nice_step(y1 - ylo);
  for (double y = std::ceil(ylo / step) * step; y <= y1 + 1e-9; y += step)
    svg += fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>"
                       "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{:g}</text>\n",
                       L, W - R, py(y), py(y), L - 6, py(y) + 4, log_y ? std::pow(10.0, y) : y);
  if (!x_labels.empty()) {
    for (std::size_t i = 0; i < x_labels.size(); ++i)
      svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", px(static_cast<double>(i)),
                         H - B + 18, escape(x_labels[i]));
  } else {
    const double xs = nice_step(x1 - x0);
    for (double x = std::ceil(x0 / xs) * xs; x <= x1 + 1e-9; x += xs)
      svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{:g}</text>\n", px(x), H - B + 18, x);
  }
  svg += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"black\"/>\n", L, W - R, H - B, H - B);
  svg += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"black\"/>\n", L, L, T, H - B);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", (L + W - R) / 2, H - 15, escape(x_label));
  svg += fmt::format("<text transform=\"translate(18,{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n", (T + H - B) / 2,
                     escape(y_label));
  for (std::size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    const char* color = kColors[k % 10];
    if (s.band_lo.size() == s.x.size() && s.band_hi.size() == s.x.size() && !s.x.empty()) {
      std::string band;
      for (std::size_t i = 0; i < s.x.size(); ++i) band += fmt::format("{:.1f},{:.1f} ", px(s.x[i]), py(s.band_hi[i]));
      for (std::size_t i = s.x.size(); i-- > 0;) band += fmt::format("{:.1f},{:.1f} ", px(s.x[i]), py(s.band_lo[i]));
      svg += fmt::format("<polygon fill=\"{}\" fill-opacity=\"0.15\" stroke=\"none\" points=\"{}\"/>\n", color, band);
    }
    std::string pts;
    for (std::size_t i = 0; i < s.x.size(); ++i) pts += fmt::format("{:.1f},{:.1f} ", px(s.x[i]), py(s.y[i]));
    svg += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n", color, pts);
    if (s.x.size() <= 12)
      for (std::size_t i = 0; i < s.x.size(); ++i)
        svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\"/>\n", px(s.x[i]), py(s.y[i]), color);
    const double ly = T + 20 + 22 * static_cast<double>(k);
    svg += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"3\"/>"
                       "<text x=\"{}\" y=\"{}\">{}</text>\n",
                       W - R + 15, W - R + 40, ly, ly, color, W - R + 46, ly + 4, escape(s.name));
  }
  return svg + "</svg>\n";
}

std::string heatmap_svg(const std::string& title, const std::vector<std::string>& source,
                        const std::vector<std::string>& target, const std::vector<std::vector<double>>& weights) {
  const double cell = 16, L = 110, T = 110;
  const double W = L + cell * static_cast<double>(source.size()) + 20, H = T + cell * static_cast<double>(target.size()) + 20;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" font-size=\"11\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"10\" y=\"20\" font-size=\"14\">{}</text>\n",
      W, H, escape(title));
  for (std::size_t s = 0; s < source.size(); ++s)
    svg += fmt::format("<text transform=\"translate({:.1f},{:.1f}) rotate(-60)\">{}</text>\n", L + cell * (static_cast<double>(s) + 0.7),
                       T - 6, escape(source[s]));
  for (std::size_t t = 0; t < target.size() && t < weights.size(); ++t) {
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", L - 6,
                       T + cell * (static_cast<double>(t) + 0.75), escape(target[t]));
    for (std::size_t s = 0; s < source.size() && s < weights[t].size(); ++s) {
      const int shade = static_cast<int>(std::lround(255 * (1 - std::clamp(weights[t][s], 0.0, 1.0))));
      svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{}\" height=\"{}\" fill=\"rgb({},{},255)\"/>\n",
                         L + cell * static_cast<double>(s), T + cell * static_cast<double>(t), cell, cell, shade, shade);
    }
  }
  return svg + "</svg>\n";
}

void write_text_file(const std::string& path, const std::string& content) { write_file_atomically(path, content); }

}  // namespace xg::translation
