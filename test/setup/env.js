// Runs before every test file. The machine runs Node 20 and package-lock pins an AWS SDK release
// that supports it; the SDK's notice that later releases will need Node 22 is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
