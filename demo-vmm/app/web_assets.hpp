// The demo page's files, compiled into the binary (see cmake/embed_files.cmake).
#pragma once

#include <span>
#include <string_view>

namespace rondo::vmm {

struct WebAsset {
  std::string_view url;  // e.g. "/" or "/vendor/uPlot.iife.min.js"
  std::string_view body;
};

std::span<const WebAsset> web_assets();

// Content type from the URL's extension ("/" is HTML).
std::string_view content_type_for(std::string_view url) noexcept;

}  // namespace rondo::vmm
