// The OpenAPI 3 description of the API (GET /v1/openapi.json). A test checks that its paths and
// methods are exactly the routes the HTTP front end registers.
#pragma once

#include <nlohmann/json.hpp>

namespace microvm::service {

nlohmann::ordered_json openapi_document();

}  // namespace microvm::service
