@KB-01 @KB-02 @KB-03 @KB-04 @KB-05 @KB-07 @KB-08 @KB-09 @KB-10 @KB-11 @KB-12 @KB-13 @IMP-02 @IMP-05
Feature: The article's walkthrough
  Q197974: a user of one organization sends encrypted mail to a user of another.
  Narrated by `smime-harness demo`.

  Scenario: UserA at Contoso sends encrypted mail to UserB at Fabrikam
    # Step 1: each organization's key management enrolls its own user in X.509 v3 security
    Given Contoso and Fabrikam each run their own key management
    When UserA is enrolled at Contoso
    And UserB is enrolled at Fabrikam
    Then UserA holds an X.509 v3 certificate issued by Contoso for usera@contoso.example
    And UserB holds an X.509 v3 certificate issued by Fabrikam for userb@fabrikam.example
    # Without UserB's certificate, Outlook 98 refuses to encrypt
    When UserA sends an encrypted message to UserB
    Then UserA is told "None of the recipients can process an encrypted message. You can either proceed with an unencrypted message or cancel the operation"
    When UserA answers "cancel"
    Then nothing has been sent
    # Step 2: UserB sends a digitally signed message to UserA
    When UserB sends a signed message to UserA
    And UserA trusts Fabrikam's certificate authority
    # Step 3: UserA opens it and adds UserB to Contacts
    And UserA opens the last message from UserB
    Then UserA sees the signature as "valid"
    When UserA adds UserB to Contacts
    # Step 4: the contact holds UserB's certificate information
    Then UserA's contact for UserB holds UserB's encryption certificate
    # The note: the client needs a few minutes to process the new contact
    When UserA sends an encrypted message to UserB
    Then the outcome is "prompt"
    When UserA answers "cancel"
    And 5 minutes pass
    # Step 5: UserA sends encrypted mail to UserB, and can read her own copy
    And UserA sends a signed and encrypted message to UserB
    Then the message is sent encrypted
    And UserB can read the message
    And UserA can read her own sent message
    # Later, UserB's certificate is renewed; the existing contact gets the update prompt
    When Fabrikam renews UserB's certificates
    And UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    And UserA adds UserB to Contacts
    Then UserA is asked "A contact for userb@fabrikam.example already exists. Do you want to update the existing contact with the new certificate information?"
    When UserA answers "update"
    And UserA restarts the mail client
    And UserA sends an encrypted message to UserB
    Then the message is encrypted to UserB's current encryption certificate
    And UserB can read the message
