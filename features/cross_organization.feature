@KB-02 @KB-07 @KB-08 @KB-09 @KB-10 @KB-12 @KB-13
Feature: Encrypted mail between two organizations, end to end
  The article's five steps as one scenario: enroll, signed message, add to
  Contacts, certificate captured, encrypted mail after the processing delay.

  Scenario: UserA sends encrypted mail to UserB in another organization
    Given Contoso and Fabrikam each run their own key management
    # Step 1: enroll both users in X.509 v3 security
    When UserA is enrolled at Contoso
    And UserB is enrolled at Fabrikam
    And UserF is enrolled at Fabrikam
    And UserA trusts Fabrikam's certificate authority
    # Without UserB's certificate, UserA cannot encrypt yet
    And UserA sends an encrypted message to UserB
    Then UserA is told "None of the recipients can process an encrypted message. You can either proceed with an unencrypted message or cancel the operation"
    When UserA answers "cancel"
    # Step 2: UserB sends a digitally signed message to UserA
    And UserB sends a signed message to UserA
    # Step 3: UserA opens it and adds UserB to Contacts
    And UserA opens the last message from UserB
    Then UserA sees the signature as "valid"
    When UserA adds UserB to Contacts
    # Step 4: the contact holds UserB's certificate information
    Then UserA's contact for UserB holds UserB's encryption certificate
    # Step 5, after the client has processed the contact
    When 5 minutes pass
    And UserA sends a signed and encrypted message to UserB
    Then the message is sent encrypted
    And UserB can read the message
    And UserB sees the signature as "untrusted-issuer"
    And UserA can read her own sent message
    And UserF cannot read the message
