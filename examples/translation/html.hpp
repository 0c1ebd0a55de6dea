#pragma once
// Self-contained HTML pages (compare's report.html, explain's attention explorer): inline CSS, JS,
// SVG and data; nothing is fetched, so a page opens from file:// on a machine without a network.
#include <string>

namespace xg::translation {

// Text for an HTML element or attribute: & < > " ' escaped.
std::string html_escape(const std::string& text);

// A JSON document to place inside <script type="application/json">: "</" written as "<\/" so that
// no string in it can close the script element.
std::string json_for_script(const std::string& json);

// The page: <head> with the title and `css` inline, `body`, then `scripts` (JS source, inline).
std::string html_page(const std::string& title, const std::string& css, const std::string& body,
                      const std::string& scripts);

// The embedded assets (web/*.css, web/*.js, compiled in by CMake: web_assets.cpp).
const std::string& asset(const std::string& name);

}  // namespace xg::translation
