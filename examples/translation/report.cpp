#include "report.hpp"

#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

#include <xgrad/data/tokenizer.hpp>
#include "html.hpp"

namespace xg::translation {

namespace fs = std::filesystem;

std::string word_diff_html(const std::vector<std::string>& hyp, const std::vector<std::string>& ref) {
  const std::size_t n = hyp.size(), m = ref.size();
  // lcs[i][j]: the longest common subsequence of hyp[i:] and ref[j:].
  std::vector<std::vector<int>> lcs(n + 1, std::vector<int>(m + 1, 0));
  for (std::size_t i = n; i-- > 0;)
    for (std::size_t j = m; j-- > 0;)
      lcs[i][j] = hyp[i] == ref[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
  std::string out;
  auto word = [&](const char* tag, const std::string& w) {
    if (!out.empty()) out += ' ';
    out += tag[0] ? fmt::format("<{0}>{1}</{0}>", tag, html_escape(w)) : html_escape(w);
  };
  std::size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && hyp[i] == ref[j]) word("", hyp[i]), ++i, ++j;
    else if (j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j])) word("del", ref[j++]);
    else word("ins", hyp[i++]);
  }
  return out;
}

namespace {
std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string bucket_label(const BucketScore& b, int64_t trained_max_len) {
  return fmt::format("{}-{}{}", b.lo, b.hi, b.hi > trained_max_len ? "*" : "");
}

std::string settings_table(const ReportInput& in) {
  std::string rows;
  for (const auto& [what, value] : in.settings)
    rows += fmt::format("<tr><th class=\"left\">{}</th><td class=\"left\">{}</td></tr>\n", html_escape(what), html_escape(value));
  return "<table class=\"data\" id=\"settings\">\n" + rows + "</table>\n";
}

// One row per model: size, training, overall scores with their intervals, alignment error.
std::string summary_table(const ReportInput& in) {
  std::string s = "<table class=\"data\" id=\"summary\">\n<tr><th class=\"left\">model</th><th>parameters</th><th>steps</th>"
                  "<th>train s</th><th>BLEU</th><th>95% interval</th><th>chrF</th><th>95% interval</th><th>exact %</th>"
                  "<th>AER % (best head)</th><th>AER % (head average)</th></tr>\n";
  double best = -1;
  for (const auto& m : in.models) best = std::max(best, m.eval->bleu);
  for (const auto& m : in.models) {
    const EvalResult& e = *m.eval;
    const bool aligned = m.alignment && m.alignment->available();
    s += fmt::format("<tr{}><td class=\"left\">{}</td><td>{}</td><td>{}</td><td>{:.0f}</td><td>{:.2f}</td><td>[{:.2f}, {:.2f}]</td>"
                     "<td>{:.2f}</td><td>[{:.2f}, {:.2f}]</td><td>{:.1f}</td><td>{}</td><td>{}</td></tr>\n",
                     e.bleu == best ? " class=\"best\"" : "", html_escape(m.name), m.params, m.steps, m.seconds, e.bleu, e.bleu_lo,
                     e.bleu_hi, e.chrf, e.chrf_lo, e.chrf_hi, e.exact,
                     aligned ? fmt::format("{:.2f}", m.alignment->best_head.aer) : "-",
                     aligned ? fmt::format("{:.2f}", m.alignment->head_mean.aer) : "-");
  }
  return s + "</table>\n";
}

// BLEU [interval] and chrF per bucket, one row per model; starred buckets are past training.
std::string bucket_table(const ReportInput& in) {
  const auto& first = in.models[0].eval->buckets;
  std::string s = "<table class=\"data\" id=\"buckets\">\n<tr><th class=\"left\">model</th>";
  for (auto k : in.buckets) s += fmt::format("<th>{}<br><span class=\"muted\">n={}</span></th>", bucket_label(first[k], in.trained_max_len), first[k].n);
  s += "</tr>\n";
  for (const auto& m : in.models) {
    s += fmt::format("<tr><td class=\"left\">{}</td>", html_escape(m.name));
    for (auto k : in.buckets) {
      const BucketScore& b = m.eval->buckets[k];
      s += fmt::format("<td>{:.2f}<br><span class=\"muted\">[{:.1f}, {:.1f}]<br>chrF {:.1f}</span></td>", b.bleu, b.bleu_lo, b.bleu_hi, b.chrf);
    }
    s += "</tr>\n";
  }
  return s + "</table>\n<p class=\"muted\">BLEU, its 95% bootstrap interval and chrF per source-length bucket; * marks lengths longer than any training source (" +
         fmt::format("{} tokens).</p>\n", in.trained_max_len);
}

std::string alignment_table(const ReportInput& in) {
  std::string rows;
  for (const auto& m : in.models) {
    if (!m.alignment || !m.alignment->available()) continue;
    rows += fmt::format("<tr><td class=\"left\">{}</td><td class=\"left\">{}</td><td>{:.2f}</td>", html_escape(m.name),
                        html_escape(m.alignment->best_head.map), m.alignment->best_head.aer);
    for (auto k : in.buckets) {
      const double v = k < m.alignment->best_head.by_bucket.size() ? m.alignment->best_head.by_bucket[k] : -1;
      rows += v >= 0 ? fmt::format("<td>{:.1f}</td>", v) : "<td>-</td>";
    }
    std::string words;
    for (const auto& w : m.alignment->best_head.worst_words) words += fmt::format("{}{} {}/{}", words.empty() ? "" : ", ", w.word, w.misaligned, w.total);
    rows += fmt::format("<td class=\"left\">{}</td></tr>\n", html_escape(words));
  }
  if (rows.empty()) return "";
  std::string head = "<h2>Alignment error rate of the attention</h2>\n<table class=\"data\" id=\"alignment\">\n"
                     "<tr><th class=\"left\">model</th><th class=\"left\">best map</th><th>AER %</th>";
  for (auto k : in.buckets) head += fmt::format("<th>{}</th>", bucket_label(in.models[0].eval->buckets[k], in.trained_max_len));
  return head + "<th class=\"left\">most misaligned target words</th></tr>\n" + rows +
         "</table>\n<p class=\"muted\">The argmax of the attention (teacher-forced) against the gold word alignment; lower is closer.</p>\n";
}

std::string figure(const std::string& out_dir, const std::string& file, const std::string& id) {
  const std::string path = out_dir + "/" + file;
  if (!fs::exists(path)) return "";
  return fmt::format("<figure id=\"{}\">{}</figure>\n", id, read_file(path));
}

// Per bucket, the first examples_per_bucket test sentences: source, reference, every output.
std::string examples(const ReportInput& in) {
  const data::WhitespaceTokenizer tok;
  std::string s = "<h2>Test sentences by length</h2>\n<p class=\"muted\">Each model's output against the reference: "
                  "<ins>words the reference does not have</ins>, <del>reference words the output lacks</del>.</p>\n";
  for (auto k : in.buckets) {
    const BucketScore& b = in.models[0].eval->buckets[k];
    std::string body;
    int64_t shown = 0;
    for (std::size_t i = 0; i < in.test.size() && shown < in.examples_per_bucket; ++i) {
      const auto source = tok.tokenize(in.test[i].source);
      if (bucket_of(static_cast<int64_t>(source.size())) != static_cast<int>(k)) continue;
      ++shown;
      const auto reference = tok.tokenize(in.test[i].target);
      body += fmt::format("<table class=\"data example\">\n<tr><th class=\"left\">source ({} words)</th><td class=\"left\">{}</td></tr>\n"
                          "<tr><th class=\"left\">reference</th><td class=\"left\">{}</td></tr>\n",
                          source.size(), html_escape(in.test[i].source), html_escape(in.test[i].target));
      for (const auto& m : in.models) {
        const auto hyp = tok.tokenize(m.eval->hypotheses.at(i));
        body += fmt::format("<tr><th class=\"left\">{}</th><td class=\"left diff\">{}</td></tr>\n", html_escape(m.name),
                            hyp == reference ? html_escape(m.eval->hypotheses[i]) + " <span class=\"same\">(exact)</span>"
                                             : word_diff_html(hyp, reference));
      }
      body += "</table>\n";
    }
    s += fmt::format("<details class=\"bucket\"{}><summary>sources of {} words ({} test sentences)</summary>\n{}</details>\n",
                     k == in.buckets.back() ? " open" : "", bucket_label(b, in.trained_max_len), b.n, body);
  }
  return s;
}
}  // namespace

std::string report_page(const ReportInput& in) {
  if (in.models.empty()) throw Error("report: no models");
  std::string body = "<header class=\"page\"><h1>xgrad: translation models compared by source length</h1>\n"
                     "<div class=\"muted\">Written by xgrad-translate compare. Everything on this page is in this one file.</div></header>\n<main>\n";
  body += "<h2>Settings</h2>\n" + settings_table(in);
  body += "<h2>Scores on the test set</h2>\n" + summary_table(in);
  body += "<h2>BLEU by source length</h2>\n" + figure(in.out_dir, "bleu_by_length.svg", "bleu-chart") + bucket_table(in);
  body += "<h2>Training loss</h2>\n" + figure(in.out_dir, "loss.svg", "loss-chart");
  body += alignment_table(in) + figure(in.out_dir, "aer_by_length.svg", "aer-chart");
  std::string maps;
  for (const auto& m : in.models) maps += figure(in.out_dir, "attention_" + m.name + ".svg", "attention-" + m.name);
  if (!maps.empty())
    body += "<h2>Attention on one test sentence</h2>\n<p class=\"muted\">The longest test sentence of at most 50 words; "
            "xgrad-translate explain draws every layer and head of one sentence.</p>\n" + maps;
  body += examples(in) + "</main>";
  return html_page("xgrad compare report", asset("common.css") + asset("report.css"), body, asset("common.js") + asset("report.js"));
}

}  // namespace xg::translation
