import { productManifest } from '../../shared/domain/catalog';
import { apiHandler } from '../../shared/http/api-handler';
import type { ProductsResponse } from '../../shared/purchases/response-schemas';

// Public by default (the SDK fetches products at start-up, maybe before login). With
// PRODUCTS_REQUIRE_AUTH the route's JWT authorizer guards it; the handler needs no caller id.
export const handler = apiHandler({ auth: 'none' }, async (): Promise<ProductsResponse> => productManifest());
