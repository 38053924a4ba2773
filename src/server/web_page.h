// The web chat page (GET /): static HTML + JavaScript over the public API.
#pragma once

namespace frugal::server {

const char* web_page();

}  // namespace frugal::server
