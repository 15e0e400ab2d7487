// The environment every bench entry point sets before any product module loads (imported first,
// for its side effects): the logger reads its level once, and 10 000 consumed events would
// otherwise print 10 000 lines; business metrics (EMF lines on stdout) would drown the table.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_SERVICE_NAME ??= 'iap-backend';
process.env.AWS_REGION = 'us-east-1';
process.env.AWS_ACCESS_KEY_ID = 'local';
process.env.AWS_SECRET_ACCESS_KEY = 'local';
// Lambda runs Node 24; the SDK's notice about older Node versions says nothing about a bench.
process.env.AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING ??= '1';
process.removeAllListeners('warning');
