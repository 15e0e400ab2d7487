// Route selection as API Gateway HTTP API does it: the method must match, the most specific path
// wins (literal segments over `{param}`, `{param}` over a greedy `{proxy+}`), and the route key is
// `METHOD /path/{param}` exactly as declared.
import type { Route } from '../../infra/routes';

export interface MatchedRoute {
  route: Route;
  routeKey: string;
  pathParameters: Record<string, string>;
}

interface CompiledRoute {
  route: Route;
  pattern: RegExp;
  names: string[];
  /** Sort key: more literal segments first, greedy paths last. */
  specificity: number;
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  let literals = 0;
  let greedy = false;
  const source = route.path
    .split('/')
    .map((segment) => {
      const greedyMatch = /^\{(\w+)\+\}$/.exec(segment);
      if (greedyMatch?.[1]) {
        names.push(greedyMatch[1]);
        greedy = true;
        return '(.+)';
      }
      const param = /^\{(\w+)\}$/.exec(segment);
      if (param?.[1]) {
        names.push(param[1]);
        return '([^/]+)';
      }
      if (segment) literals += 1;
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { route, pattern: new RegExp(`^${source}$`), names, specificity: literals * 2 - (greedy ? 1 : 0) };
}

export function createRouteMatcher(routes: Route[]) {
  const compiled = routes.map(compile).sort((a, b) => b.specificity - a.specificity);
  return (method: string, path: string): MatchedRoute | undefined => {
    for (const candidate of compiled) {
      if (candidate.route.method !== method) continue;
      const match = candidate.pattern.exec(path);
      if (!match) continue;
      const pathParameters: Record<string, string> = {};
      candidate.names.forEach((name, i) => {
        const raw = match[i + 1] ?? '';
        pathParameters[name] = safeDecode(raw);
      });
      return {
        route: candidate.route,
        routeKey: `${candidate.route.method} ${candidate.route.path}`,
        pathParameters,
      };
    }
    return undefined;
  };
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
