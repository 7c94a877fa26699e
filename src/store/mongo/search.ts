import type { Model } from 'mongoose';
import type { SearchRequest } from '../../fhir/search/types.js';
import type { SearchPage } from '../port.js';
import { errors } from '../../fhir/outcome.js';

/** Runs a neutral search on MongoDB. (Placeholder until the search compiler lands.) */
export async function searchMongo(_patients: Model<any>, _request: SearchRequest): Promise<SearchPage> {
  throw errors.internal();
}
